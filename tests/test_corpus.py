"""prep/corpus.py: the RDKit corpus, BRICS crossovers, grafted groups and random stereoisomers."""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles
from inchi_lightning.prep.corpus import (
    FragmentLibrary,
    brics_fragments,
    default_smiles,
    graft,
    random_stereoisomer,
)


def test_default_smiles_is_thousands_of_distinct_valid_molecules() -> None:
    smiles = default_smiles()
    assert len(smiles) > 4000
    assert len(set(smiles)) == len(smiles)
    sample = np.random.default_rng(0).choice(len(smiles), size=200, replace=False)
    assert all(mol_from_smiles(smiles[i]) is not None for i in sample)
    # Each call hands out its own list: a caller cannot corrupt the cache.
    smiles.clear()
    assert len(default_smiles()) > 4000


def test_brics_fragments_have_one_attachment_point_each() -> None:
    fragments = brics_fragments("CCOC(=O)c1ccccc1NC(C)=O")
    assert fragments == sorted(fragments) and len(fragments) >= 4
    assert all(fragment.count("*") == 1 for fragment in fragments)
    assert brics_fragments("C1CC") == []
    assert brics_fragments("C") == []


def test_fragment_library_makes_new_valid_molecules_deterministically() -> None:
    parents = ["CCOC(=O)c1ccccc1NC(C)=O", "COc1ccc(CN2CCCCC2)cc1", "O=C(Nc1ccccc1)c1ccncc1"]
    fragments = sorted({f for smiles in parents for f in brics_fragments(smiles)})
    library = FragmentLibrary(fragments)
    assert len(library) == len(fragments)

    def molecules(seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [library.random_molecule(rng) for _ in range(40)]

    made = molecules(0)
    assert made == molecules(0)
    joined = [smiles for smiles in made if smiles is not None]
    assert len(joined) > 20
    assert all("*" not in smiles and inchi_from_smiles(smiles) for smiles in joined)
    parent_inchis = {inchi_from_smiles(smiles) for smiles in parents}
    assert {inchi_from_smiles(smiles) for smiles in joined} - parent_inchis
    assert FragmentLibrary([]).random_molecule(np.random.default_rng(0)) is None


def test_a_group_is_grafted_onto_an_aromatic_ch_chosen_by_the_generator() -> None:
    inchi = inchi_from_smiles
    aniline = graft("c1ccccc1", "*N(C)C", np.random.default_rng(0))
    assert inchi(aniline) == inchi("CN(C)c1ccccc1")

    def sulfonamides(seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [graft("Cc1ccccc1", "*S(N)(=O)=O", rng) for _ in range(12)]

    made = sulfonamides(0)
    assert made == sulfonamides(0)
    # ortho, meta and para toluenesulfonamide, and never on the methyl carbon
    isomers = ("Cc1ccccc1S(N)(=O)=O", "Cc1cccc(S(N)(=O)=O)c1", "Cc1ccc(S(N)(=O)=O)cc1")
    assert {inchi(smiles) for smiles in made} == {inchi(smiles) for smiles in isomers}
    assert graft("CCO", "*N(C)C", np.random.default_rng(0)) is None  # no aromatic carbon
    assert graft("c1ccccc1", "not a group", np.random.default_rng(0)) is None


def test_a_random_stereoisomer_assigns_every_open_centre_and_bond_by_the_generator() -> None:
    inchi = inchi_from_smiles

    def isomers(smiles: str, seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [random_stereoisomer(smiles, rng) for _ in range(16)]

    diol = "CC(O)C(O)C=CC"  # two stereocentres and a stereo double bond: 8 isomers
    made = isomers(diol, 0)
    assert made == isomers(diol, 0)
    assert len({inchi(smiles) for smiles in made}) > 2  # the generator picks among them
    for smiles in made:
        mol = Chem.MolFromSmiles(smiles)
        assert Chem.FindMolChiralCenters(mol, includeUnassigned=True) == Chem.FindMolChiralCenters(
            mol
        )
        assert "/t" in inchi(smiles) and "/b" in inchi(smiles)  # both kinds in the InChI

    def amine_centre(smiles: str) -> str:  # the CIP label of the carbon bearing the N
        mol = Chem.MolFromSmiles(smiles)
        labels = dict(Chem.FindMolChiralCenters(mol, includeUnassigned=True))
        (nitrogen,) = [atom for atom in mol.GetAtoms() if atom.GetSymbol() == "N"]
        return labels[nitrogen.GetNeighbors()[0].GetIdx()]

    given = "N[C@H](C)CC(O)C"
    for seed in range(4):  # an assigned centre keeps its configuration
        kept = random_stereoisomer(given, np.random.default_rng(seed))
        assert amine_centre(kept) == amine_centre(given) == "R"
    assert random_stereoisomer("CCO", np.random.default_rng(0)) is None  # nothing to assign
    assert random_stereoisomer("C[C@H](N)C(=O)O", np.random.default_rng(0)) is None
    assert random_stereoisomer("not a molecule", np.random.default_rng(0)) is None
