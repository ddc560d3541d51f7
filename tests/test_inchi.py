"""chemistry/inchi.py: InChI conversions and post-processing."""

from __future__ import annotations

import pytest
from rdkit import Chem

from inchi_lightning.chemistry.inchi import (
    inchi_from_smiles,
    inchi_without_stereo,
    is_valid_inchi,
    mol_from_inchi,
    normalise_inchi,
    postprocess,
    smiles_from_inchi,
)

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
    assert inchi_from_smiles(smiles) == inchi


@pytest.mark.parametrize("smiles", ["C1CC", "not a molecule", "C(C)(C)(C)(C)C", ""])
def test_inchi_from_smiles_is_none_for_invalid_smiles(smiles: str) -> None:
    assert inchi_from_smiles(smiles) is None


def test_invalid_input_is_silent_here_but_rdkit_still_logs_elsewhere(capfd) -> None:
    inchi_from_smiles("C1CC")
    mol_from_inchi("InChI=1S/garbage")
    assert capfd.readouterr().err == ""
    # The silence was scoped: RDKit's logger still speaks for everyone else.
    Chem.MolFromSmiles("C1CC")
    assert "C1CC" in capfd.readouterr().err


def test_mol_from_inchi_and_validity() -> None:
    mol = mol_from_inchi(ETHANOL)
    assert mol is not None and mol.GetNumAtoms() == 3
    assert is_valid_inchi(ETHANOL)
    for bad in ("InChI=1S/garbage", "C2H6O", "", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H4"):
        assert mol_from_inchi(bad) is None
        assert not is_valid_inchi(bad)


def test_smiles_from_inchi_round_trips_with_stereo() -> None:
    alanine = inchi_from_smiles("N[C@@H](C)C(=O)O")
    assert inchi_from_smiles(smiles_from_inchi(alanine)) == alanine
    assert smiles_from_inchi("InChI=1S/garbage") is None


def test_inchi_without_stereo_drops_only_the_stereo_layers() -> None:
    alanine = inchi_from_smiles("N[C@@H](C)C(=O)O")
    flat = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)"
    assert inchi_without_stereo(alanine) == flat == inchi_from_smiles("NC(C)C(=O)O")
    trans, cis = inchi_from_smiles("C/C=C/C"), inchi_from_smiles("C/C=C\\C")
    assert trans != cis and inchi_without_stereo(trans) == inchi_without_stereo(cis)
    assert inchi_without_stereo(ETHANOL) == ETHANOL


def test_normalise_inchi_round_trips_and_standardises() -> None:
    for smiles in ("CCO", "c1ccc2[nH]ccc2c1", "N[C@@H](C)C(=O)O", "OC(=O)c1ccccc1C(F)(F)F"):
        inchi = inchi_from_smiles(smiles)
        assert normalise_inchi(inchi) == inchi
    # A non-standard InChI of ethanol comes back as the standard one.
    assert normalise_inchi("InChI=1/C2H6O/c1-2-3/h3H,2H2,1H3") == ETHANOL
    assert normalise_inchi("InChI=1S/garbage") is None


# ---- post-processing predictions ------------------------------------------------------------

METHANOL = "InChI=1S/CH4O/c1-2/h2H,1H3"
METHANOL_UNORDERED = "InChI=1S/CH4O/c2-1/h2H,1H3"  # valid; RDKit writes it as METHANOL


def test_postprocess_takes_the_first_valid_candidate_and_normalises_it() -> None:
    assert is_valid_inchi(METHANOL_UNORDERED) and METHANOL_UNORDERED != METHANOL
    result = postprocess(["InChI=1S/C9/bad", METHANOL_UNORDERED, "InChI=1S/H2O/h1H2"])
    assert result.raw == "InChI=1S/C9/bad" and not result.raw_valid
    assert result.chosen == METHANOL_UNORDERED and result.chosen_index == 1
    assert result.final == METHANOL and result.valid


def test_postprocess_steps_switch_off_one_by_one() -> None:
    candidates = ["InChI=1S/C9/bad", METHANOL_UNORDERED]
    not_normalised = postprocess(candidates, normalise=False)
    assert not_normalised.final == METHANOL_UNORDERED
    not_chosen = postprocess(candidates, choose=False)
    assert not_chosen.final == "InChI=1S/C9/bad" and not not_chosen.valid
    assert postprocess([METHANOL_UNORDERED], choose=False).final == METHANOL


def test_postprocess_keeps_the_raw_prediction_when_no_candidate_is_valid() -> None:
    result = postprocess(["InChI=1S/C9/bad", "InChI=1S/", "not an inchi"])
    assert (result.raw, result.chosen, result.final) == ("InChI=1S/C9/bad",) * 3
    assert result.chosen_index == 0 and not result.valid
    assert postprocess([]).final == ""
