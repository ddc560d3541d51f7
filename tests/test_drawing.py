"""drawing.py: RDKit drawing styles, depictions and canvases fitted to the molecule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rdkit import Chem, RDConfig

from inchi_lightning import chem, drawing


def test_random_style_is_seeded_and_stays_in_bms_ranges() -> None:
    styles = [drawing.random_style(np.random.default_rng(seed)) for seed in range(200)]
    assert drawing.random_style(np.random.default_rng(7)) == styles[7]
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
    style = drawing.DrawStyle(width=320, height=240, rotation=30.0)
    image = drawing.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style)
    assert image.dtype == np.uint8
    assert image.shape == (240, 320)
    assert (image[0, :] == 255).all() and (image[-1, :] == 255).all()  # white margins
    assert np.median(image) == 255
    ink = np.count_nonzero(image < 128)
    assert 0.005 * image.size < ink < 0.2 * image.size
    assert np.array_equal(image, drawing.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style))


def test_abbreviations_and_methyl_labels_change_the_drawing() -> None:
    mol = _mol("OC(=O)c1ccc(cc1)C(F)(F)F")  # CO2H and CF3: both in RDKit's abbreviations
    plain = drawing.draw(mol, drawing.DrawStyle())
    abbreviated = drawing.draw(mol, drawing.DrawStyle(abbreviate=True))
    assert abbreviated.shape == plain.shape
    assert not np.array_equal(plain, abbreviated)
    methyl = _mol("Cc1ccccc1")
    labelled = drawing.draw(methyl, drawing.DrawStyle(explicit_methyl=True))
    assert not np.array_equal(drawing.draw(methyl, drawing.DrawStyle()), labelled)


def test_fit_canvas_follows_molecule_size_and_rotation() -> None:
    style = drawing.DrawStyle(bond_length=25.0)
    small = drawing.fit_canvas(_mol("CCO"), style)
    large = drawing.fit_canvas(_mol("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"), style)
    assert small.width * small.height < large.width * large.height
    for fitted in (small, large):
        assert drawing.MIN_CANVAS <= min(fitted.width, fitted.height)
        assert max(fitted.width, fitted.height) <= drawing.MAX_CANVAS
        assert fitted.bond_length == style.bond_length
    chain = _mol("CCCCCCCCCC")
    level = drawing.fit_canvas(chain, style)
    turned = drawing.fit_canvas(chain, drawing.DrawStyle(bond_length=25.0, rotation=90.0))
    assert (level.width, level.height) == (turned.height, turned.width)
