"""Wedges and hashes drawn as patent drawing programs draw them: wide, with few bold dashes.

RDKit's hashed wedge puts a dash every 2.5 px plus a line width, whatever the bond length, and
its wedges are a fifth of a bond wide: at patent bond lengths a hash becomes a grey fan of a
dozen hairlines. Patent drawings (ChemDraw, ISIS) draw five to nine dashes as thick as the other
lines over a wedge a quarter to a third of a bond wide, and a reader trained only on RDKit's
fans misses them (the stereo drawings of uspto-300 were read exactly a fifth as often as the
rest). Some uspto-300 drawings (ISIS) hash with dashes all of one length, no narrow end to
see: ``MarkShape.parallel_hashes``. Drawing is two steps around RDKit's own, as for circled
rings: RDKit draws a copy of the molecule whose wedged bonds are plain, those bonds in white
(``StereoMarks.lines_of``, ``draw_lines``), so that labels, line ends and the canvas are laid
out as for wedges; then the marks go on the canvas, in pixels, where RDKit placed the atoms
(``draw_marks``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D

from inchi_lightning.chemistry.molecule import BOND_MARKS

_REDRAWN = ("wedge", "hash")  # the marks drawn here; wavy bonds stay RDKit's


@dataclasses.dataclass(frozen=True)
class StereoMark:
    """A wedge or hash from atom ``narrow`` (the stereocentre) to atom ``wide``."""

    bond: int
    narrow: int
    wide: int
    kind: str  # "wedge" or "hash"


@dataclasses.dataclass(frozen=True)
class StereoMarks:
    """The wedged bonds of a drawing, to be drawn by ``draw_marks`` instead of by RDKit."""

    marks: tuple[StereoMark, ...] = ()

    def lines_of(self, drawn: Chem.Mol) -> Chem.Mol:
        """``drawn`` with the marked bonds plain, so that RDKit lays out labels and lines as
        for the wedges; ``draw_lines`` then has it draw those bonds white. Only the lines are drawn
        from this copy; the molecule recorded is ``drawn`` itself."""
        if not self.marks:
            return drawn
        lines = Chem.RWMol(drawn)
        for mark in self.marks:
            lines.GetBondWithIdx(mark.bond).SetBondDir(Chem.BondDir.NONE)
        return lines.GetMol()

    def draw_lines(self, drawer: rdMolDraw2D.MolDraw2D, lines: Chem.Mol) -> None:
        """Draw ``lines`` (from ``lines_of``) on ``drawer``, the marked bonds in white: RDKit
        draws a highlighted bond in its highlight colour when highlights are not continuous."""
        if not self.marks:
            drawer.DrawMolecule(lines)
            return
        drawer.drawOptions().continuousHighlight = False
        white = {mark.bond: (1.0, 1.0, 1.0) for mark in self.marks}
        drawer.DrawMolecule(
            lines, highlightAtoms=[], highlightBonds=list(white), highlightBondColors=white
        )


NO_MARKS = StereoMarks()


def stereo_marks(drawn: Chem.Mol) -> StereoMarks:
    """The wedges and hashes of ``drawn`` (prepared for drawing), each from its begin atom:
    the end the recorded graph says the mark starts from."""
    return StereoMarks(
        tuple(
            StereoMark(bond.GetIdx(), bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), kind)
            for bond in drawn.GetBonds()
            if (kind := BOND_MARKS.get(bond.GetBondDir())) in _REDRAWN
        )
    )


def has_text(atom: Chem.Atom, explicit_methyl: bool = False) -> bool:
    """Whether RDKit writes ``atom`` as text rather than a bare line end or corner
    (``explicit_methyl``: RDKit's option of that name is on)."""
    return (
        atom.GetAtomicNum() != 6
        or atom.HasProp("atomLabel")
        or atom.GetFormalCharge() != 0
        or (explicit_methyl and atom.GetDegree() == 1)
    )


@dataclasses.dataclass(frozen=True)
class MarkShape:
    """How wide (in bonds, at the wide end) and with how many dashes the marks are drawn."""

    width: float = 0.3
    dashes: int = 7
    parallel_hashes: bool = False  # a hash's dashes all as long as half its wide end
    line_width: float = 1.0  # px, the drawing's bond lines
    # Half the width and height (px) of the box round an atom's letter that a mark stops at.
    text_box: tuple[float, float] = (5.0, 6.0)
    explicit_methyl: bool = False  # terminal carbons are written CH3 (see has_text)


def draw_marks(
    drawer: rdMolDraw2D.MolDraw2D,
    drawn: Chem.Mol,
    positions: np.ndarray,
    marks: StereoMarks,
    shape: MarkShape,
) -> None:
    """Each of ``marks`` on ``drawer``'s canvas, between the atoms' (atoms, 2) draw
    coordinates ``positions``: a filled triangle for a wedge, dashes across it for a hash."""
    drawer.SetColour((0.0, 0.0, 0.0))
    drawer.SetLineWidth(max(round(shape.line_width), 1))
    for mark in marks.marks:
        narrow, wide = _ends(drawn, positions, mark, shape)
        along = wide - narrow
        length = float(np.linalg.norm(along))
        if length < 1.0:
            continue  # the texts at both ends cover the bond: nothing to draw
        across = np.array([-along[1], along[0]]) / length
        bond_length = float(np.linalg.norm(positions[mark.wide] - positions[mark.narrow]))
        half = 0.5 * shape.width * bond_length  # of the whole bond, not of what text leaves
        if mark.kind == "wedge":
            _draw_wedge(drawer, narrow, wide, across, half, shape.line_width)
        else:
            _draw_hash(drawer, narrow, wide, across, half, shape)


def _ends(
    drawn: Chem.Mol, positions: np.ndarray, mark: StereoMark, shape: MarkShape
) -> tuple[np.ndarray, np.ndarray]:
    """The mark's narrow and wide ends: the atoms' centres, or where the bond leaves the box
    round an atom written as text."""
    narrow, wide = positions[mark.narrow].copy(), positions[mark.wide].copy()
    direction = (wide - narrow) / max(float(np.linalg.norm(wide - narrow)), 1e-9)
    with np.errstate(divide="ignore"):
        clearance = float(np.min(np.asarray(shape.text_box) / np.abs(direction)))
    if has_text(drawn.GetAtomWithIdx(mark.narrow), shape.explicit_methyl):
        narrow += clearance * direction
    if has_text(drawn.GetAtomWithIdx(mark.wide), shape.explicit_methyl):
        wide -= clearance * direction
    return narrow, wide


def _draw_wedge(drawer, narrow, wide, across, half, line_width) -> None:
    tip = 0.5 * line_width  # a point as wide as the lines, not a needle
    corners = [narrow + tip * across, wide + half * across, wide - half * across]
    corners.append(narrow - tip * across)
    drawer.SetFillPolys(True)
    drawer.DrawPolygon([Point2D(*map(float, corner)) for corner in corners], rawCoords=True)


def _draw_hash(drawer, narrow, wide, across, half, shape: MarkShape) -> None:
    # The first dash a little off the stereocentre, the last at the wide end, as ChemDraw does.
    for fraction in np.linspace(1.0 / shape.dashes, 1.0, shape.dashes):
        centre = narrow + fraction * (wide - narrow)
        reach = max((0.5 if shape.parallel_hashes else fraction) * half, 1.0)
        start, end = centre + reach * across, centre - reach * across
        drawer.DrawLine(Point2D(*map(float, start)), Point2D(*map(float, end)), rawCoords=True)
