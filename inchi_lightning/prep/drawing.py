"""Drawing molecules with RDKit in a style (styles.py): 2D depictions, canvases fitted to the
molecule, text groups condensed (abbreviations.py), rings circled (circled_rings.py), wedges
drawn as patents draw them (patent_wedges.py).

Only the drawing changes: the molecule, and so its InChI, is the one given. A double bond that
could be E or Z but is neither in the molecule is drawn crossed, as chemists mark an unknown
geometry: drawn plain, its geometry would say E or Z, and the image would show another molecule
than its label.

``draw_with_graph`` also records the molecule as drawn (``molgraph.MolGraph``): each atom's
centre in the image's pixels, its class and charge, each bond's kind. RDKit's preparation for
drawing (Kekulé form, chiral hydrogens, wedges) is done once here, and RDKit is told not to do it
again, so the bonds recorded are exactly the ones drawn.

Pixel convention (as numpy and OpenCV index): the point (x, y) is the centre of the pixel in
column x, row y; the image spans -0.5 to W - 0.5 across. Cairo, and so RDKit's draw coordinates,
put that centre at (x + 0.5, y + 0.5): ``draw_with_graph`` subtracts the half pixel.

Nothing here damages an image: synth.py adds scan damage on top. Nothing runs at import time.
RDKit's log output is silenced only inside the calls that expect noise (``rdBase.BlockLogs``).
"""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
from PIL import Image  # a dependency of RDKit itself; decodes the Cairo PNG without OpenCV
from rdkit import Chem, rdBase
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from inchi_lightning.chemistry.molecule import (
    cross_unspecified_double_bonds,
    graph_from_mol,
    prepare_for_drawing,
    wavy_unknown_centres,
)
from inchi_lightning.chemistry.molgraph import MolGraph
from inchi_lightning.prep.abbreviations import condense
from inchi_lightning.prep.circled_rings import NO_CIRCLES, circled_rings, draw_circles
from inchi_lightning.prep.patent_wedges import (
    NO_MARKS,
    MarkShape,
    StereoMarks,
    draw_marks,
    stereo_marks,
)
from inchi_lightning.prep.styles import DrawStyle, font_path

# RDKit places bonds 1.5 depiction units long.
_DEPICTION_BOND_LENGTH = 1.5

# Canvas bounds of BMS images (pixels).
MIN_CANVAS = 160
MAX_CANVAS = 1000


def _depict(mol: Chem.Mol, style: DrawStyle) -> Chem.Mol:
    """A copy of ``mol`` to draw: abbreviations condensed, carbons labelled, 2D coordinates,
    rotated."""
    mol = cross_unspecified_double_bonds(mol)  # before condensing: see its docstring
    with rdBase.BlockLogs():
        if style.abbreviate:
            mol = condense(mol, style.abbreviation_set)
        else:
            mol = Chem.Mol(mol)
        # RDKit 2026.09 returns condensed molecules with their valences not yet computed.
        mol.UpdatePropertyCache(strict=False)
        drawn_hydrogens = _carbons_with_a_drawn_hydrogen(mol) if style.explicit_hydrogens else ()
        if drawn_hydrogens:  # (an empty onlyOnAtoms would add every hydrogen)
            mol = Chem.AddHs(mol, onlyOnAtoms=drawn_hydrogens)
        rdDepictor.Compute2DCoords(mol)
    if style.label_chain_carbons:
        for index, label in _carbon_labels(mol).items():
            mol.GetAtomWithIdx(index).SetProp("atomLabel", label)  # RDKit draws it as is
    if style.bare_heteroatoms:
        for atom in _hydrogen_bearing_heteroatoms(mol):
            atom.SetProp("atomLabel", atom.GetSymbol())
    if style.atom_numbers:
        for index, number in _ring_numbers(mol).items():
            mol.GetAtomWithIdx(index).SetProp("atomNote", number)  # small text beside the atom
    # Rotate the coordinates ourselves rather than through MolDrawOptions.rotate, so that
    # fit_canvas measures exactly the extent that draw() will draw.
    conformer = mol.GetConformer()
    coords = conformer.GetPositions()[:, :2]  # (atoms, 2)
    angle = math.radians(style.rotation)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rotated = coords @ rotation.T  # (atoms, 2)
    for index, (x, y) in enumerate(rotated):
        conformer.SetAtomPosition(index, (float(x), float(y), 0.0))
    return mol


def fit_canvas(mol: Chem.Mol, style: DrawStyle) -> DrawStyle:
    """``style`` with width and height set so that ``mol`` is drawn ``bond_length`` px per bond.

    Margins leave room for atom labels. The canvas stays within the BMS sizes (``MIN_CANVAS`` to
    ``MAX_CANVAS`` px a side); a molecule too large for that is drawn smaller by ``draw``.
    """
    coords = _depict(mol, style).GetConformer().GetPositions()[:, :2]  # (atoms, 2)
    extent = (coords.max(axis=0) - coords.min(axis=0)) / _DEPICTION_BOND_LENGTH  # in bonds
    margin = 4 * style.font_size
    width, height = extent * style.bond_length + margin
    scale = 1.0 / (1.0 - 2.0 * style.padding)
    return dataclasses.replace(
        style, width=_clip_canvas(width * scale), height=_clip_canvas(height * scale)
    )


def _clip_canvas(size: float) -> int:
    return int(min(max(round(size), MIN_CANVAS), MAX_CANVAS))


def _drawing_options(drawer: rdMolDraw2D.MolDraw2D, style: DrawStyle) -> None:
    options = drawer.drawOptions()
    options.useBWAtomPalette()
    options.bondLineWidth = style.bond_line_width
    options.scaleBondWidth = False  # keep lines thin whatever the scale, as in the scans
    options.fixedBondLength = style.bond_length
    options.fixedFontSize = style.font_size
    options.padding = style.padding
    options.multipleBondOffset = style.multiple_bond_offset
    options.additionalAtomLabelPadding = style.additional_atom_label_padding
    options.explicitMethyl = style.explicit_methyl
    font = font_path(style.font)
    if font is not None:
        options.fontFile = str(font)


def _carbon_labels(mol: Chem.Mol) -> dict[int, str]:
    """Text for every carbon outside a ring, hydrogens included: C, CH, CH2 or CH3."""
    labels = {}
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() != 6 or atom.IsInRing() or atom.HasProp("atomLabel"):
            continue  # abbreviated groups keep their own text
        hydrogens = atom.GetTotalNumHs()
        count = f"<sub>{hydrogens}</sub>" if hydrogens > 1 else ""
        labels[atom.GetIdx()] = "C" + ("H" if hydrogens else "") + count
    return labels


def _ring_numbers(mol: Chem.Mol) -> dict[int, str]:
    """Position numbers for the atoms of the molecule's first two rings, as patents number a
    nucleoside's sugar or a ring system (1 to n, then 1' to n' for the second ring)."""
    numbers: dict[int, str] = {}
    for ring, mark in zip(Chem.GetSymmSSSR(mol), ("", "'"), strict=False):
        for position, index in enumerate(ring, start=1):
            numbers.setdefault(index, f"{position}{mark}")
    return numbers


def _carbons_with_a_drawn_hydrogen(mol: Chem.Mol) -> tuple[int, ...]:
    """Carbons with one hydrogen that are stereocentres or aldehydes (C=O): those patents draw
    the H of."""
    return tuple(
        atom.GetIdx()
        for atom in mol.GetAtoms()
        if atom.GetAtomicNum() == 6
        and atom.GetTotalNumHs() == 1
        and (
            atom.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED
            or any(
                bond.GetBondType() == Chem.BondType.DOUBLE
                and bond.GetOtherAtom(atom).GetAtomicNum() == 8
                for bond in atom.GetBonds()
            )
        )
    )


def _hydrogen_bearing_heteroatoms(mol: Chem.Mol) -> list[Chem.Atom]:
    """Uncharged atoms other than carbon and hydrogen that carry hydrogens and no label yet."""
    return [
        atom
        for atom in mol.GetAtoms()
        if atom.GetAtomicNum() not in (0, 1, 6)
        and atom.GetTotalNumHs() > 0
        and atom.GetFormalCharge() == 0
        and not atom.HasProp("atomLabel")
    ]


def draw(mol: Chem.Mol, style: DrawStyle) -> np.ndarray:
    """``mol`` drawn in ``style``: (height, width) uint8 gray, black ink on white (255), no damage.

    The image is ``style.height`` by ``style.width`` unless ``style.grow_to_fit_labels`` made it
    larger. Raises ``ValueError`` when RDKit cannot lay the molecule out or draw it.
    """
    image, *_ = _draw(mol, style)
    return image


@dataclasses.dataclass(frozen=True)
class DrawnMolecule:
    """An image and the molecule as drawn in it.

    ``graph`` gives every drawn atom (condensed groups as their labels, RDKit's added chiral
    hydrogens included) at its centre in the image's pixels, and every drawn bond with its
    wedge, hash or wavy mark. It is None when the drawing cannot be recorded (an atom charged
    beyond ``molgraph.CHARGES``); ``problem`` then says why.
    """

    image: np.ndarray  # (H, W) uint8
    graph: MolGraph | None
    problem: str = ""

    def transformed(self, image: np.ndarray, matrix: np.ndarray) -> DrawnMolecule:
        """``image``, made from this one by a move of its pixels ``matrix`` (2x3), and the
        graph moved with it."""
        graph = None if self.graph is None else self.graph.transformed(matrix)
        return DrawnMolecule(image, graph, self.problem)


def draw_with_graph(mol: Chem.Mol, style: DrawStyle) -> DrawnMolecule:
    """``draw(mol, style)`` (the same pixels) and the molecule as drawn in them.

    Raises ``ValueError`` when RDKit cannot lay the molecule out or draw it.
    """
    image, drawn, positions, circled = _draw(mol, style)
    try:
        graph = graph_from_mol(drawn, positions - 0.5)  # Cairo's pixel centres are at +0.5
    except ValueError as exc:
        return DrawnMolecule(image, None, f"not recorded: {exc}")
    if circled:  # a circled ring's bonds are drawn as one kind: neither single nor double
        bonds = tuple(
            dataclasses.replace(bond, kind="aromatic") if index in circled else bond
            for index, bond in enumerate(graph.bonds)
        )
        graph = MolGraph(graph.atoms, bonds)
    return DrawnMolecule(image, graph)


def _draw(
    mol: Chem.Mol, style: DrawStyle
) -> tuple[np.ndarray, Chem.Mol, np.ndarray, frozenset[int]]:
    """The image, the molecule drawn (prepared for drawing), its atoms' draw coordinates, and
    the bonds drawn as part of a circled ring.

    The molecule is prepared once and drawn as it is, so that RDKit's own preparation cannot
    pick other wedges than those recorded; the pixels are those RDKit's preparation gives.
    """
    depiction = _depict(mol, style)
    try:
        drawn = prepare_for_drawing(depiction)
        if style.wavy_unknown_centres:
            drawn = wavy_unknown_centres(drawn)
        circled = circled_rings(depiction, drawn) if style.aromatic_circles else NO_CIRCLES
        marks = stereo_marks(drawn) if style.patent_marks else NO_MARKS
        lines = marks.lines_of(circled.lines_of(drawn))
        image, positions = _render(lines, style, circled.rings, marks)
        for _ in range(_MAX_GROWTH_STEPS if style.grow_to_fit_labels else 0):
            cut = _ink_on_edges(image)
            if not cut:
                break
            style = _grown(style, cut)
            image, positions = _render(lines, style, circled.rings, marks)
    except RuntimeError as exc:
        raise ValueError(f"RDKit could not draw {Chem.MolToSmiles(mol)}: {exc}") from exc
    return image, drawn, positions, circled.bonds


# Canvas growth per step when labels are cut, and how many steps before giving up.
_GROWTH = 1.15
_MAX_GROWTH_STEPS = 6
_MIN_FONT_SIZE = 8


def _render(
    drawn: Chem.Mol,
    style: DrawStyle,
    circled: tuple[tuple[int, ...], ...] = (),
    marks: StereoMarks = NO_MARKS,
) -> tuple[np.ndarray, np.ndarray]:
    """``drawn`` (prepared for drawing) on a canvas of the style's size, a circle inside each
    ring of ``circled``, the wedges and hashes of ``marks``, and its (atoms, 2) draw
    coordinates; RDKit's failures raise RuntimeError."""
    drawer = rdMolDraw2D.MolDraw2DCairo(style.width, style.height)
    _drawing_options(drawer, style)
    drawer.drawOptions().prepareMolsBeforeDrawing = False  # prepared already: keep its wedges
    with rdBase.BlockLogs():
        marks.draw_lines(drawer, drawn)
    positions = np.array(
        [tuple(drawer.GetDrawCoords(index)) for index in range(drawn.GetNumAtoms())],
        dtype=np.float64,
    ).reshape(-1, 2)
    draw_circles(drawer, positions, circled, style.bond_line_width, style.aromatic_circle_size)
    draw_marks(drawer, drawn, positions, marks, _mark_shape(style))
    drawer.FinishDrawing()
    with Image.open(io.BytesIO(drawer.GetDrawingText())) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8).copy(), positions


def _mark_shape(style: DrawStyle) -> MarkShape:
    # A mark stops about where RDKit stops a line at a label: at the box round its letter.
    return MarkShape(
        width=style.mark_width,
        dashes=style.hash_dashes,
        parallel_hashes=style.parallel_hashes,
        line_width=style.bond_line_width,
        text_box=(0.6 * style.font_size, 0.6 * style.font_size),
        explicit_methyl=style.explicit_methyl,
    )


def _ink_on_edges(image: np.ndarray) -> set[str]:
    """Which canvas directions, "width" and/or "height", have ink on their edge rows/columns."""
    ink = image < 128
    cut = set()
    if ink[:, 0].any() or ink[:, -1].any():
        cut.add("width")
    if ink[0, :].any() or ink[-1, :].any():
        cut.add("height")
    return cut


def _grown(style: DrawStyle, cut: set[str]) -> DrawStyle:
    """``style`` with more room in the ``cut`` directions, or a smaller font at the size limit."""
    sizes = {name: getattr(style, name) for name in ("width", "height")}
    grown = {name: min(round(size * _GROWTH), MAX_CANVAS) for name, size in sizes.items()}
    room = {name: grown[name] for name in cut if grown[name] > sizes[name]}
    if room:
        return dataclasses.replace(style, **room)
    smaller = max(round(style.font_size / _GROWTH), _MIN_FONT_SIZE)
    return dataclasses.replace(style, font_size=smaller)
