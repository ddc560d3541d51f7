"""Captions beside a drawing: on paper added at one side, the annotation moved with the drawing."""

from __future__ import annotations

import numpy as np
import pytest

from inchi_lightning.chemistry.inchi import mol_from_smiles
from inchi_lightning.prep import captions, drawing, render, styles

MOLECULE = "CC(=O)Nc1ccc(O)cc1"


@pytest.fixture(scope="module")
def drawn() -> drawing.DrawnMolecule:
    style = styles.DrawStyle(width=240, height=180, font_size=14)
    return drawing.draw_with_graph(mol_from_smiles(MOLECULE), style)


@pytest.mark.parametrize("side", captions.SIDES)
def test_the_caption_goes_on_new_paper_and_the_atoms_move_with_the_drawing(drawn, side) -> None:
    captioned = captions.add_caption(drawn, "(12)", None, 14, side)
    height, width = drawn.image.shape
    grown_height, grown_width = captioned.image.shape
    across = side in ("left", "right")
    assert (grown_width > width, grown_height > height) == (across, not across)
    dx = grown_width - width if side == "left" else 0
    dy = grown_height - height if side == "top" else 0
    assert np.array_equal(captioned.image[dy : dy + height, dx : dx + width], drawn.image)
    assert np.allclose(captioned.graph.points, drawn.graph.points + (dx, dy))
    assert captioned.graph.bonds == drawn.graph.bonds
    outside = np.ones(captioned.image.shape, dtype=bool)
    outside[dy : dy + height, dx : dx + width] = False
    assert (captioned.image[outside] < 128).sum() > 20  # the text's ink, on the new paper


def test_an_unknown_side_is_refused(drawn) -> None:
    with pytest.raises(ValueError, match="caption side"):
        captions.add_caption(drawn, "(1)", None, 12, "middle")


def test_captions_are_seeded_and_take_the_forms_patents_print() -> None:
    texts = [captions.random_caption(np.random.default_rng(seed)) for seed in range(200)]
    assert texts[:5] == [captions.random_caption(np.random.default_rng(s)) for s in range(5)]
    assert any(t.startswith("(") for t in texts) and any(t.isdigit() for t in texts)
    assert any(t.startswith("Formula ") for t in texts)
    assert any(t.startswith("Intermediate ") for t in texts)  # uspto-300 prints both
    assert any(t.startswith("Compound of Formula ") for t in texts)


def test_synth_captions_some_patent_drawings_and_no_bms_scan() -> None:
    mol = mol_from_smiles(MOLECULE)
    patent = [render.recipe(mol, 0, index, 1.0)[2] for index in range(100)]
    share = sum(caption is not None for caption in patent) / len(patent)
    assert 0.05 < share < 0.3  # CAPTIONED_FRACTION, 0.15
    assert all(render.recipe(mol, 0, index, 0.0)[2] is None for index in range(100))
    index = next(i for i, caption in enumerate(patent) if caption is not None)
    item = render.render_annotated(MOLECULE, 0, index, 1.0)
    style = render.recipe(mol, 0, index, 1.0)[0]
    assert item.image.shape != (style.height, style.width)  # paper added for the caption
    height, width = item.image.shape
    assert all(0 <= x < width and 0 <= y < height for x, y in item.graph.points)
