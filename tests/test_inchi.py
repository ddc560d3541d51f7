"""chem.py: the RDKit corpus, InChI conversions and BRICS crossovers."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from inchi_lightning import chem

ETHANOL = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"


@pytest.mark.parametrize(
    ("smiles", "inchi"),
    [
        ("CCO", ETHANOL),
        ("OCC", ETHANOL),  # another spelling, the same molecule
        ("c1ccccc1", "InChI=1S/C6H6/c1-2-4-6-5-3-1/h1-6H"),
        ("CC(=O)O", "InChI=1S/C2H4O2/c1-2(3)4/h1H3,(H,3,4)"),
        ("N[C@@H](C)C(=O)O", "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1"),
    ],
)
def test_inchi_from_smiles_gives_the_standard_inchi(smiles: str, inchi: str) -> None:
    assert chem.inchi_from_smiles(smiles) == inchi


@pytest.mark.parametrize("smiles", ["C1CC", "not a molecule", "C(C)(C)(C)(C)C", ""])
def test_inchi_from_smiles_is_none_for_invalid_smiles(smiles: str) -> None:
    assert chem.inchi_from_smiles(smiles) is None


def test_invalid_input_is_silent_here_but_rdkit_still_logs_elsewhere(capfd) -> None:
    chem.inchi_from_smiles("C1CC")
    chem.mol_from_inchi("InChI=1S/garbage")
    assert capfd.readouterr().err == ""
    # The silence was scoped: RDKit's logger still speaks for everyone else.
    Chem.MolFromSmiles("C1CC")
    assert "C1CC" in capfd.readouterr().err


def test_mol_from_inchi_and_validity() -> None:
    mol = chem.mol_from_inchi(ETHANOL)
    assert mol is not None and mol.GetNumAtoms() == 3
    assert chem.is_valid_inchi(ETHANOL)
    for bad in ("InChI=1S/garbage", "C2H6O", "", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H4"):
        assert chem.mol_from_inchi(bad) is None
        assert not chem.is_valid_inchi(bad)


def test_smiles_from_inchi_round_trips_with_stereo() -> None:
    alanine = chem.inchi_from_smiles("N[C@@H](C)C(=O)O")
    assert chem.inchi_from_smiles(chem.smiles_from_inchi(alanine)) == alanine
    assert chem.smiles_from_inchi("InChI=1S/garbage") is None


def test_inchi_without_stereo_drops_only_the_stereo_layers() -> None:
    alanine = chem.inchi_from_smiles("N[C@@H](C)C(=O)O")
    flat = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)"
    assert chem.inchi_without_stereo(alanine) == flat == chem.inchi_from_smiles("NC(C)C(=O)O")
    trans, cis = chem.inchi_from_smiles("C/C=C/C"), chem.inchi_from_smiles("C/C=C\\C")
    assert trans != cis and chem.inchi_without_stereo(trans) == chem.inchi_without_stereo(cis)
    assert chem.inchi_without_stereo(ETHANOL) == ETHANOL


def test_normalise_inchi_round_trips_and_standardises() -> None:
    for smiles in ("CCO", "c1ccc2[nH]ccc2c1", "N[C@@H](C)C(=O)O", "OC(=O)c1ccccc1C(F)(F)F"):
        inchi = chem.inchi_from_smiles(smiles)
        assert chem.normalise_inchi(inchi) == inchi
    # A non-standard InChI of ethanol comes back as the standard one.
    assert chem.normalise_inchi("InChI=1/C2H6O/c1-2-3/h3H,2H2,1H3") == ETHANOL
    assert chem.normalise_inchi("InChI=1S/garbage") is None


def test_default_smiles_is_thousands_of_distinct_valid_molecules() -> None:
    smiles = chem.default_smiles()
    assert len(smiles) > 4000
    assert len(set(smiles)) == len(smiles)
    sample = np.random.default_rng(0).choice(len(smiles), size=200, replace=False)
    assert all(chem.mol_from_smiles(smiles[i]) is not None for i in sample)
    # Each call hands out its own list: a caller cannot corrupt the cache.
    smiles.clear()
    assert len(chem.default_smiles()) > 4000


def test_brics_fragments_have_one_attachment_point_each() -> None:
    fragments = chem.brics_fragments("CCOC(=O)c1ccccc1NC(C)=O")
    assert fragments == sorted(fragments) and len(fragments) >= 4
    assert all(fragment.count("*") == 1 for fragment in fragments)
    assert chem.brics_fragments("C1CC") == []
    assert chem.brics_fragments("C") == []


def test_fragment_library_makes_new_valid_molecules_deterministically() -> None:
    parents = ["CCOC(=O)c1ccccc1NC(C)=O", "COc1ccc(CN2CCCCC2)cc1", "O=C(Nc1ccccc1)c1ccncc1"]
    fragments = sorted({f for smiles in parents for f in chem.brics_fragments(smiles)})
    library = chem.FragmentLibrary(fragments)
    assert len(library) == len(fragments)

    def molecules(seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [library.random_molecule(rng) for _ in range(40)]

    made = molecules(0)
    assert made == molecules(0)
    joined = [smiles for smiles in made if smiles is not None]
    assert len(joined) > 20
    assert all("*" not in smiles and chem.inchi_from_smiles(smiles) for smiles in joined)
    parent_inchis = {chem.inchi_from_smiles(smiles) for smiles in parents}
    assert {chem.inchi_from_smiles(smiles) for smiles in joined} - parent_inchis
    assert chem.FragmentLibrary([]).random_molecule(np.random.default_rng(0)) is None


def test_a_group_is_grafted_onto_an_aromatic_ch_chosen_by_the_generator() -> None:
    inchi = chem.inchi_from_smiles
    aniline = chem.graft("c1ccccc1", "*N(C)C", np.random.default_rng(0))
    assert inchi(aniline) == inchi("CN(C)c1ccccc1")

    def sulfonamides(seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [chem.graft("Cc1ccccc1", "*S(N)(=O)=O", rng) for _ in range(12)]

    made = sulfonamides(0)
    assert made == sulfonamides(0)
    # ortho, meta and para toluenesulfonamide, and never on the methyl carbon
    isomers = ("Cc1ccccc1S(N)(=O)=O", "Cc1cccc(S(N)(=O)=O)c1", "Cc1ccc(S(N)(=O)=O)cc1")
    assert {inchi(smiles) for smiles in made} == {inchi(smiles) for smiles in isomers}
    assert chem.graft("CCO", "*N(C)C", np.random.default_rng(0)) is None  # no aromatic carbon
    assert chem.graft("c1ccccc1", "not a group", np.random.default_rng(0)) is None


def test_a_random_stereoisomer_assigns_every_open_centre_and_bond_by_the_generator() -> None:
    inchi = chem.inchi_from_smiles

    def isomers(smiles: str, seed: int) -> list[str | None]:
        rng = np.random.default_rng(seed)
        return [chem.random_stereoisomer(smiles, rng) for _ in range(16)]

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
        kept = chem.random_stereoisomer(given, np.random.default_rng(seed))
        assert amine_centre(kept) == amine_centre(given) == "R"
    assert chem.random_stereoisomer("CCO", np.random.default_rng(0)) is None  # nothing to assign
    assert chem.random_stereoisomer("C[C@H](N)C(=O)O", np.random.default_rng(0)) is None
    assert chem.random_stereoisomer("not a molecule", np.random.default_rng(0)) is None


# ---- post-processing predictions ------------------------------------------------------------

METHANOL = "InChI=1S/CH4O/c1-2/h2H,1H3"
METHANOL_UNORDERED = "InChI=1S/CH4O/c2-1/h2H,1H3"  # valid; RDKit writes it as METHANOL


def test_postprocess_takes_the_first_valid_candidate_and_normalises_it() -> None:
    assert chem.is_valid_inchi(METHANOL_UNORDERED) and METHANOL_UNORDERED != METHANOL
    result = chem.postprocess(["InChI=1S/C9/bad", METHANOL_UNORDERED, "InChI=1S/H2O/h1H2"])
    assert result.raw == "InChI=1S/C9/bad" and not result.raw_valid
    assert result.chosen == METHANOL_UNORDERED and result.chosen_index == 1
    assert result.final == METHANOL and result.valid


def test_postprocess_steps_switch_off_one_by_one() -> None:
    candidates = ["InChI=1S/C9/bad", METHANOL_UNORDERED]
    not_normalised = chem.postprocess(candidates, normalise=False)
    assert not_normalised.final == METHANOL_UNORDERED
    not_chosen = chem.postprocess(candidates, choose=False)
    assert not_chosen.final == "InChI=1S/C9/bad" and not not_chosen.valid
    assert chem.postprocess([METHANOL_UNORDERED], choose=False).final == METHANOL


def test_postprocess_keeps_the_raw_prediction_when_no_candidate_is_valid() -> None:
    result = chem.postprocess(["InChI=1S/C9/bad", "InChI=1S/", "not an inchi"])
    assert (result.raw, result.chosen, result.final) == ("InChI=1S/C9/bad",) * 3
    assert result.chosen_index == 0 and not result.valid
    assert chem.postprocess([]).final == ""
