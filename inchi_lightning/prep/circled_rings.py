"""Benzene-like rings drawn as many patents draw them: single lines around a circle.

Which rings may be circled is chemistry (``circled_rings``): the circle stands for the ring's
alternating double bonds, so a reader rebuilds them by kekulizing, which works only when no
double bond leaves the circled rings. Drawing is two steps around RDKit's own: the lines come
from a copy of the molecule whose circled bonds are single (``CircledRings.lines_of``), and the
circles go on the canvas after RDKit has placed the atoms (``draw_circles``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D


@dataclasses.dataclass(frozen=True)
class CircledRings:
    """Rings to draw circled (atom indices in ring order) and the indices of their bonds."""

    rings: tuple[tuple[int, ...], ...] = ()
    bonds: frozenset[int] = frozenset()

    def lines_of(self, drawn: Chem.Mol) -> Chem.Mol:
        """``drawn`` with the circled bonds made single: the circle says the rest. Only the
        lines are drawn from this copy; the molecule recorded is ``drawn`` itself."""
        if not self.bonds:
            return drawn
        lines = Chem.RWMol(drawn)
        for index in self.bonds:
            lines.GetBondWithIdx(index).SetBondType(Chem.BondType.SINGLE)
        return lines.GetMol()


NO_CIRCLES = CircledRings()


def circled_rings(depiction: Chem.Mol, drawn: Chem.Mol) -> CircledRings:
    """The rings of ``drawn`` (``depiction`` prepared for drawing, Kekulé form) that patents
    draw as a circle: six aromatic carbons or pyridine-like nitrogens, uncharged, whose Kekulé
    double bonds all lie in circled rings (the two rings of naphthalene; indole's benzene ring
    only where its pyrrole takes no double bond from it). A circled ring's bonds read aromatic
    from the circle alone, and RDKit can kekulize them only when no double bond leaves them."""
    rings = [
        tuple(ring)
        for ring in Chem.GetSymmSSSR(drawn)
        if len(ring) == 6 and _benzene_like(depiction, drawn, tuple(ring))
    ]
    while True:  # dropping a ring can strand another's double bond: repeat until none drops
        bonds = frozenset(bond for ring in rings for bond in _ring_bonds(drawn, ring))
        kept = [ring for ring in rings if _doubles_within(drawn, ring, bonds)]
        if len(kept) == len(rings):
            return CircledRings(tuple(kept), bonds)
        rings = kept


def draw_circles(
    drawer: rdMolDraw2D.MolDraw2D,
    positions: np.ndarray,
    rings: tuple[tuple[int, ...], ...],
    line_width: float,
    size: float,
) -> None:
    """A circle inside each of ``rings``, its radius ``size`` of the ring's inner radius.

    ``positions`` are the atoms' (atoms, 2) draw coordinates, as ``drawer`` placed them.
    """
    drawer.SetFillPolys(False)
    drawer.SetColour((0.0, 0.0, 0.0))
    drawer.SetLineWidth(max(round(line_width), 1))
    for ring in rings:
        corners = positions[list(ring)]  # (6, 2), in ring order
        centre = corners.mean(axis=0)
        sides = (corners + np.roll(corners, 1, axis=0)) / 2.0
        radius = size * float(np.linalg.norm(sides - centre, axis=1).mean())
        low, high = centre - radius, centre + radius
        drawer.DrawEllipse(Point2D(*low), Point2D(*high), rawCoords=True)


def _ring_bonds(mol: Chem.Mol, ring: tuple[int, ...]) -> list[int]:
    return [
        mol.GetBondBetweenAtoms(index, ring[position - 1]).GetIdx()
        for position, index in enumerate(ring)
    ]


def _benzene_like(depiction: Chem.Mol, drawn: Chem.Mol, ring: tuple[int, ...]) -> bool:
    for index in ring:
        atom = drawn.GetAtomWithIdx(index)
        if atom.GetSymbol() not in ("C", "N") or atom.GetFormalCharge():
            return False
        if atom.GetSymbol() == "N" and atom.GetTotalNumHs():
            return False  # pyrrole-like: its H would have to be read from the circle
    return all(depiction.GetBondWithIdx(bond).GetIsAromatic() for bond in _ring_bonds(drawn, ring))


def _doubles_within(drawn: Chem.Mol, ring: tuple[int, ...], circled: frozenset[int]) -> bool:
    return all(
        bond.GetIdx() in circled
        for index in ring
        for bond in drawn.GetAtomWithIdx(index).GetBonds()
        if bond.GetBondTypeAsDouble() > 1
    )
