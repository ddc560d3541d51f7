"""scripts/metal_salts.py: the molecule list the salts set is drawn from."""

from __future__ import annotations

from pathlib import Path

from rdkit import Chem

from inchi_lightning.chemistry.inchi import inchi_from_smiles
from inchi_lightning.chemistry.molgraph import CHARGES, ELEMENTS
from inchi_lightning.prep import render


def cation_and_anions(smiles: str) -> tuple[Chem.Atom, int]:
    """The salt's one metal cation, and how many negative charges its other parts carry."""
    mol = Chem.MolFromSmiles(smiles)
    cations = [atom for atom in mol.GetAtoms() if atom.GetFormalCharge() >= 2]
    negative = -sum(min(atom.GetFormalCharge(), 0) for atom in mol.GetAtoms())
    nitro = len(mol.GetSubstructMatches(Chem.MolFromSmarts("[N+](=O)[O-]")))  # not an anion
    assert len(cations) == 1, smiles
    return cations[0], negative - nitro


def test_salts_pair_a_metal_cation_of_charge_two_to_four_with_at_most_as_many_anions(
    load_script,
) -> None:
    metal_salts = load_script("metal_salts")
    made = metal_salts.salts(24, seed=5)
    assert made == metal_salts.salts(24, seed=5)  # the same list for the same seed
    assert len({inchi_from_smiles(smiles) for smiles in made}) == 24
    charges = set()
    for smiles in made:
        cation, anions = cation_and_anions(smiles)
        assert cation.GetSymbol() in ELEMENTS and cation.GetFormalCharge() in CHARGES
        assert 0 <= anions <= cation.GetFormalCharge(), smiles
        charges.add(cation.GetFormalCharge())
    assert charges == {2, 3, 4}


def test_a_drawn_salt_is_recorded_with_its_cations_charge(tmp_path: Path, load_script) -> None:
    metal_salts = load_script("metal_salts")
    out = tmp_path / "salts.smi"
    assert metal_salts.main(["--out", str(out), "--n", "3", "--seed", "2"]) == 0
    smiles = out.read_text().splitlines()
    assert len(smiles) == 3
    for index, line in enumerate(smiles):
        drawn = render.render_annotated(line, 7, index)
        cation, _ = cation_and_anions(line)
        assert drawn.graph is not None, drawn.problem
        assert cation.GetFormalCharge() in {atom.charge for atom in drawn.graph.atoms}
