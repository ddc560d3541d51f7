"""patent_wedges.py: wedges and hashes drawn wide, with few bold dashes, as patents draw them."""

from __future__ import annotations

import dataclasses

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDepictor

from inchi_lightning.chemistry.inchi import inchi_from_smiles
from inchi_lightning.chemistry.molecule import molecule_from_graph, prepare_for_drawing
from inchi_lightning.prep import drawing, styles
from inchi_lightning.prep.patent_wedges import stereo_marks

# Two stereocentres, each with a mark to a carbon drawn as a bare line end (no text to stop at).
_TWO_CENTRES = "CC[C@H](C)C[C@@H](C)CC"
_STYLE = styles.DrawStyle(width=400, height=300, bond_length=60.0, bond_line_width=2.0)


def _drawn(smiles: str, **style) -> drawing.DrawnMolecule:
    return drawing.draw_with_graph(Chem.MolFromSmiles(smiles), dataclasses.replace(_STYLE, **style))


def _marked(drawn: drawing.DrawnMolecule, kind: str):
    return [bond for bond in drawn.graph.bonds if bond.kind == kind]


def _one_centre(kind: str) -> str:
    """An enantiomer of 3-methylhexane that RDKit marks with a ``kind``: which one it wedges
    and which it hashes is RDKit's layout's choice."""
    for smiles in ("C[C@@H](CC)CCC", "C[C@H](CC)CCC"):
        if _marked(_drawn(smiles), kind):
            return smiles
    raise AssertionError(f"neither enantiomer is drawn with a {kind}")


def _ink_along(image: np.ndarray, start, end, offset: float = 0.0) -> np.ndarray:
    """Whether each pixel on the segment start-end (``offset`` px to its side) is ink."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    across = np.array([-(end - start)[1], (end - start)[0]]) / np.linalg.norm(end - start)
    points = np.linspace(start, end, 4 * round(np.linalg.norm(end - start))) + offset * across
    rows, cols = np.round(points[:, 1]).astype(int), np.round(points[:, 0]).astype(int)
    return image[rows, cols] < 128


def _runs(ink: np.ndarray) -> int:
    return int(ink[0]) + int(np.count_nonzero(ink[1:] & ~ink[:-1]))


def test_marks_are_found_from_the_stereocentre_and_the_lines_drop_only_their_direction() -> None:
    prepared = Chem.MolFromSmiles(_TWO_CENTRES)
    rdDepictor.Compute2DCoords(prepared)
    prepared = prepare_for_drawing(prepared)
    marks = stereo_marks(prepared)
    assert len(marks.marks) == 2
    for mark in marks.marks:  # the narrow end is the chiral carbon
        centre = prepared.GetAtomWithIdx(mark.narrow)
        assert centre.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED
        assert mark.kind in ("wedge", "hash")
    lines = marks.lines_of(prepared)
    assert lines.GetNumBonds() == prepared.GetNumBonds()
    assert all(bond.GetBondDir() == Chem.BondDir.NONE for bond in lines.GetBonds())
    assert any(bond.GetBondDir() != Chem.BondDir.NONE for bond in prepared.GetBonds())


def test_the_recorded_graph_is_the_same_however_the_marks_are_drawn() -> None:
    plain = _drawn(_TWO_CENTRES)
    patent = _drawn(_TWO_CENTRES, patent_marks=True)
    assert np.allclose(
        plain.graph.points, patent.graph.points, atol=1.0
    )  # RDKit centres its shapes
    assert [bond.kind for bond in plain.graph.bonds] == [bond.kind for bond in patent.graph.bonds]
    assert not np.array_equal(plain.image, patent.image)
    expected = inchi_from_smiles(_TWO_CENTRES)
    assert molecule_from_graph(patent.graph).inchi == expected


def test_a_hash_is_drawn_as_its_number_of_dashes_and_nothing_between_them() -> None:
    for dashes in (5, 8):
        smiles = _one_centre("hash")
        drawn = _drawn(smiles, patent_marks=True, hash_dashes=dashes)
        plain = _drawn(smiles, hash_dashes=dashes)
        (hashed,) = _marked(drawn, "hash")
        narrow, wide = drawn.graph.points[hashed.begin], drawn.graph.points[hashed.end]
        # From half a dash off the stereocentre (where other bonds meet) to the wide end.
        start = narrow + (wide - narrow) * 0.5 / dashes
        assert _runs(_ink_along(drawn.image, start, wide)) == dashes
        assert _runs(_ink_along(plain.image, start, wide)) > dashes  # RDKit's fan is denser


def test_a_parallel_hash_has_dashes_of_one_length() -> None:
    smiles = _one_centre("hash")
    lengths = {}
    for parallel in (False, True):
        drawn = _drawn(smiles, patent_marks=True, hash_dashes=5, parallel_hashes=parallel)
        (hashed,) = _marked(drawn, "hash")
        narrow, wide = drawn.graph.points[hashed.begin], drawn.graph.points[hashed.end]
        across = np.array([-(wide - narrow)[1], (wide - narrow)[0]])
        across /= np.linalg.norm(across)
        lengths[parallel] = [  # ink across the bond at the second and the last dash
            _ink_along(drawn.image, centre - 20 * across, centre + 20 * across).sum()
            for centre in (narrow + 0.4 * (wide - narrow), wide)
        ]
    tapered, parallel = lengths[False], lengths[True]
    assert tapered[0] < 0.6 * tapered[1]  # the fan widens from the stereocentre
    assert abs(parallel[0] - parallel[1]) <= 0.1 * parallel[1]  # no narrow end to see
    assert parallel[1] < 0.75 * tapered[1]  # half the fan's wide end


def test_a_wedge_is_as_wide_as_asked_at_its_wide_end() -> None:
    for width in (0.2, 0.4):
        drawn = _drawn(_one_centre("wedge"), patent_marks=True, mark_width=width)
        (wedge,) = _marked(drawn, "wedge")
        narrow, wide = drawn.graph.points[wedge.begin], drawn.graph.points[wedge.end]
        near_end = narrow + 0.9 * (wide - narrow)
        length = float(np.linalg.norm(wide - narrow))
        across = np.array([-(wide - narrow)[1], (wide - narrow)[0]]) / length
        reach = 0.9 * width * length / 2
        span = _ink_along(drawn.image, near_end - reach * across, near_end + reach * across)
        assert span.mean() > 0.9  # ink across 90% of the asked half-widths either side
        beyond = near_end + (width * length / 2 + 4) * across  # 4 px past the asked edge
        assert not _ink_along(drawn.image, beyond, beyond + across).any()


def test_a_mark_stops_short_of_an_atom_written_as_text() -> None:
    font_size = 24
    for smiles in ("O[C@@H]1CCOC1", "O[C@H]1CCOC1"):  # a wedge, then a hash, to OH
        drawn = _drawn(smiles, patent_marks=True, font_size=font_size)
        (mark,) = [bond for bond in drawn.graph.bonds if bond.kind in ("wedge", "hash")]
        assert drawn.graph.atoms[mark.end].symbol == "O"
        narrow, oxygen = drawn.graph.points[mark.begin], drawn.graph.points[mark.end]
        direction = (oxygen - narrow) / np.linalg.norm(oxygen - narrow)
        # White between the letter (about 0.3 of the font size wide each side) and the mark.
        gap = _ink_along(
            drawn.image, oxygen - 0.55 * font_size * direction, oxygen - 0.4 * font_size * direction
        )
        assert not gap.all(), smiles
        if mark.kind == "wedge":  # and the mark reaches the letter's box
            near = oxygen - 0.7 * font_size * direction
            assert _ink_along(drawn.image, near, near + direction).all()


def test_patent_styles_draw_patent_marks_in_some_drawings_only() -> None:
    rng = np.random.default_rng(5)
    drawn_styles = [styles.random_style(rng, "patent") for _ in range(100)]
    assert 0 < sum(style.patent_marks for style in drawn_styles) < 100
    assert {style.hash_dashes for style in drawn_styles} <= set(range(5, 10))
    assert all(0.2 <= style.mark_width <= 0.4 for style in drawn_styles)
    assert 0 < sum(style.parallel_hashes for style in drawn_styles) < 100
    assert not styles.random_style(rng, "bms").patent_marks
