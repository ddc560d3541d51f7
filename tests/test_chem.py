"""chem.py: the RDKit corpus, InChI conversions, drawing and BRICS crossovers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, RDConfig

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


def test_random_style_is_seeded_and_stays_in_bms_ranges() -> None:
    styles = [chem.random_style(np.random.default_rng(seed)) for seed in range(200)]
    assert chem.random_style(np.random.default_rng(7)) == styles[7]
    assert len(set(styles)) == len(styles)
    for style in styles:
        assert 18 <= style.bond_length <= 34
        assert 0.8 <= style.bond_line_width <= 2.0
        assert 10 <= style.font_size <= 15
        assert 0 <= style.rotation < 360
        assert style.font is None or (Path(RDConfig.RDDataDir) / "Fonts" / style.font).is_file()
    assert any(style.abbreviate for style in styles)
    assert not all(style.abbreviate for style in styles)


def _mol(smiles: str) -> Chem.Mol:
    mol = chem.mol_from_smiles(smiles)
    assert mol is not None
    return mol


def test_draw_gives_gray_ink_on_white_at_the_style_size() -> None:
    style = chem.DrawStyle(width=320, height=240, rotation=30.0)
    image = chem.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style)
    assert image.dtype == np.uint8
    assert image.shape == (240, 320)
    assert (image[0, :] == 255).all() and (image[-1, :] == 255).all()  # white margins
    assert np.median(image) == 255
    ink = np.count_nonzero(image < 128)
    assert 0.005 * image.size < ink < 0.2 * image.size
    assert np.array_equal(image, chem.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style))


def test_abbreviations_and_methyl_labels_change_the_drawing() -> None:
    mol = _mol("OC(=O)c1ccc(cc1)C(F)(F)F")  # CO2H and CF3: both in RDKit's abbreviations
    plain = chem.draw(mol, chem.DrawStyle())
    abbreviated = chem.draw(mol, chem.DrawStyle(abbreviate=True))
    assert abbreviated.shape == plain.shape
    assert not np.array_equal(plain, abbreviated)
    methyl = _mol("Cc1ccccc1")
    labelled = chem.draw(methyl, chem.DrawStyle(explicit_methyl=True))
    assert not np.array_equal(chem.draw(methyl, chem.DrawStyle()), labelled)


def test_fit_canvas_follows_molecule_size_and_rotation() -> None:
    style = chem.DrawStyle(bond_length=25.0)
    small = chem.fit_canvas(_mol("CCO"), style)
    large = chem.fit_canvas(_mol("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"), style)
    assert small.width * small.height < large.width * large.height
    for fitted in (small, large):
        assert chem.MIN_CANVAS <= min(fitted.width, fitted.height)
        assert max(fitted.width, fitted.height) <= chem.MAX_CANVAS
        assert fitted.bond_length == style.bond_length
    chain = _mol("CCCCCCCCCC")
    level = chem.fit_canvas(chain, style)
    turned = chem.fit_canvas(chain, chem.DrawStyle(bond_length=25.0, rotation=90.0))
    assert (level.width, level.height) == (turned.height, turned.width)


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
