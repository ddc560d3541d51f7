"""damage.py: each kind of scan damage on a tiny page, and the damage drawn at random."""

from __future__ import annotations

import cv2
import numpy as np

from inchi_lightning.chemistry.inchi import mol_from_smiles
from inchi_lightning.prep import damage as scans
from inchi_lightning.prep import drawing, styles


def _page(height: int = 60, width: int = 80) -> np.ndarray:
    """White paper with one 1-pixel horizontal line of ink across it."""
    page = np.full((height, width), 255, np.uint8)
    page[30, 10:70] = 0
    return page


def test_binarise_splits_at_the_threshold() -> None:
    gray = np.array([[0, 99, 100, 101, 255]], np.uint8)
    assert scans.binarise(gray, 100).tolist() == [[0, 0, 255, 255, 255]]


def test_blur_softens_strokes_and_zero_sigma_copies() -> None:
    page = _page()
    blurred = scans.blur(page, 0.8)
    assert blurred[31, 40] < 255 and blurred[30, 40] > 0  # ink spreads to the neighbours
    copy = scans.blur(page, 0.0)
    assert np.array_equal(copy, page) and copy is not page


def test_add_specks_adds_exactly_count_ink_pixels_on_paper() -> None:
    page = _page()
    specked = scans.add_specks(page, 25, np.random.default_rng(0))
    assert np.count_nonzero(specked == 0) - np.count_nonzero(page == 0) == 25
    assert (specked[page == 0] == 0).all()  # existing ink untouched
    assert np.count_nonzero(page == 0) == 60  # the input is not modified


def test_drop_ink_pixels_removes_that_fraction_of_ink() -> None:
    page = _page()
    dropped = scans.drop_ink_pixels(page, 0.25, np.random.default_rng(0))
    assert np.count_nonzero(dropped == 0) == 45
    assert (dropped[page == 255] == 255).all()


def test_break_strokes_cuts_a_line_into_pieces() -> None:
    page = _page()
    broken = scans.break_strokes(page, 2, 1, np.random.default_rng(1))
    pieces, _ = cv2.connectedComponents((broken == 0).astype(np.uint8))
    assert pieces - 1 >= 2  # minus the background label
    assert np.count_nonzero(broken == 0) < np.count_nonzero(page == 0)


def test_rotate_quarter_turns_swaps_height_and_width() -> None:
    page = _page(60, 80)
    assert scans.rotate_quarter_turns(page, 1).shape == (80, 60)
    assert scans.rotate_quarter_turns(page, 3).shape == (80, 60)
    assert np.array_equal(scans.rotate_quarter_turns(page, 2), page[::-1, ::-1])
    assert np.array_equal(scans.rotate_quarter_turns(page, 0), page)


def test_random_damage_turns_about_the_configured_fraction() -> None:
    rng = np.random.default_rng(0)
    damages = [scans.random_damage(rng) for _ in range(2000)]
    turned = sum(damage.quarter_turns != 0 for damage in damages) / len(damages)
    assert abs(turned - scans.ROTATED_FRACTION) < 0.03
    assert {damage.quarter_turns for damage in damages} == {0, 1, 3}
    assert any(damage.blur_sigma > 0 for damage in damages)


def test_apply_damage_gives_a_binary_turned_scan() -> None:
    gray = drawing.draw(mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O"), styles.DrawStyle())
    damage = scans.Damage(
        blur_sigma=0.5, threshold=200, ink_dropout=0.01, stroke_breaks=2, break_radius=1,
        speck_density=1e-3, quarter_turns=1,
    )  # fmt: skip
    scan = scans.apply_damage(gray, damage, np.random.default_rng(0))
    assert scan.shape == gray.shape[::-1]
    assert set(np.unique(scan)) == {0, 255}
    again = scans.apply_damage(gray, damage, np.random.default_rng(0))
    assert np.array_equal(scan, again)


def test_patent_damage_only_binarises() -> None:
    rng = np.random.default_rng(0)
    for damage in (scans.random_patent_damage(rng) for _ in range(200)):
        assert damage.quarter_turns == damage.stroke_breaks == 0
        assert damage.speck_density == damage.ink_dropout == 0.0


# --- where damage moves the pixels ------------------------------------------------------------


def test_quarter_turn_matrix_moves_points_as_the_pixels_move() -> None:
    page = np.full((5, 7), 255, np.uint8)
    page[1, 5] = 0  # column 5, row 1
    for turns in range(5):
        matrix = scans.quarter_turn_matrix(turns, *page.shape)
        turned = scans.rotate_quarter_turns(page, turns)
        row, col = np.argwhere(turned == 0)[0]
        assert np.allclose(matrix @ (5.0, 1.0, 1.0), (col, row))
    assert np.allclose(scans.quarter_turn_matrix(1, 5, 7), [[0, 1, 0], [-1, 0, 6]])  # W - 1 - x


def test_apply_damage_with_transform_gives_apply_damages_pixels_and_their_turn() -> None:
    gray = drawing.draw(mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O"), styles.DrawStyle())
    for turns in (0, 1, 3):
        damage = scans.Damage(
            blur_sigma=0.5, threshold=200, ink_dropout=0.01, stroke_breaks=2, break_radius=1,
            speck_density=1e-3, quarter_turns=turns,
        )  # fmt: skip
        scan = scans.apply_damage(gray, damage, np.random.default_rng(4))
        image, matrix = scans.apply_damage_with_transform(gray, damage, np.random.default_rng(4))
        assert np.array_equal(image, scan)
        assert np.allclose(matrix, scans.quarter_turn_matrix(turns, *gray.shape))
