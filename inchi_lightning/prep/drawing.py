"""Drawing molecules with RDKit: styles, 2D depictions, canvases fitted to the molecule.

Two families of styles: ``"bms"`` imitates the scans of Kaggle's BMS set (thin lines, small
labels, any orientation); ``"patent"`` imitates clean patent drawings (lines thin against long
bonds, larger and serif fonts, text groups such as OCH3, COOH or Ph, chain carbons written out in
some, benzene rings as circles in some, wedges and hashes drawn wide with few dashes in some).
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
import functools
import io
import math
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image  # a dependency of RDKit itself; decodes the Cairo PNG without OpenCV
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import rdAbbreviations, rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from inchi_lightning.graph_chem import (
    cross_unspecified_double_bonds,
    graph_from_mol,
    prepare_for_drawing,
)
from inchi_lightning.molgraph import MolGraph
from inchi_lightning.prep.circled_rings import NO_CIRCLES, circled_rings, draw_circles
from inchi_lightning.prep.patent_wedges import (
    NO_MARKS,
    MarkShape,
    StereoMarks,
    draw_marks,
    stereo_marks,
)

StyleKind = Literal["bms", "patent"]
STYLE_KINDS: tuple[str, ...] = ("bms", "patent")

# Fonts shipped in RDConfig.RDDataDir/Fonts that look like the BMS scans; None is RDKit's
# built-in font. Amadeus and Comic Neue are left out: their glyphs look nothing like BMS scans.
FONTS = (None, "Telex-Regular.ttf")
# Patent drawings are mostly set in Times or Arial. Nimbus Roman and Nimbus Sans (URW's metric
# clones of them, Debian's fonts-urw-base35) and DejaVu Serif are not part of RDKit: they are
# looked up among the system fonts, and RDKit's built-in font stands in where one is missing, so
# the random choices (and the label) never depend on the machine, only the glyphs do.
PATENT_FONTS = (
    None,
    "Telex-Regular.ttf",
    "DejaVuSerif.ttf",
    "NimbusRoman-Regular.otf",
    "NimbusRoman-Regular.otf",
    "NimbusSans-Regular.otf",
)
_SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# Text groups of patent drawings, in RDKit's abbreviation format (label, SMARTS with the
# attachment point first, label when the bond comes from the left, label when from the right).
# Earlier lines win where two match. "formula" writes groups out, "short" uses the usual names.
_PATENT_ABBREVIATIONS = {
    "formula": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocHN
        Boc *C(=O)OC(C)(C)C Boc Boc
        NHCbz *[NH]C(=O)O[CH2]c1ccccc1 NHCbz CbzHN
        Cbz *C(=O)O[CH2]c1ccccc1 Cbz Cbz
        COOCH3 *C(=O)O[CH3] COOCH<sub>3</sub> H<sub>3</sub>COOC
        COOC2H5 *C(=O)O[CH2][CH3] COOC<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>OOC
        COOH *C(=O)[OH] COOH HOOC
        OCF3 *OC(F)(F)F OCF<sub>3</sub> F<sub>3</sub>CO
        CF3 *C(F)(F)F CF<sub>3</sub> F<sub>3</sub>C
        OCH3 *O[CH3] OCH<sub>3</sub> H<sub>3</sub>CO
        OC2H5 *O[CH2][CH3] OC<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>O
        NO2 *[N+](=O)[O-] NO<sub>2</sub> O<sub>2</sub>N
        SO2NH2 *S(=O)(=O)[NH2] SO<sub>2</sub>NH<sub>2</sub> H<sub>2</sub>NO<sub>2</sub>S
        SO2CH3 *S(=O)(=O)[CH3] SO<sub>2</sub>CH<sub>3</sub> H<sub>3</sub>CO<sub>2</sub>S
        CONH2 *C(=O)[NH2] CONH<sub>2</sub> H<sub>2</sub>NOC
        COCH3 *C(=O)[CH3] COCH<sub>3</sub> H<sub>3</sub>COC
        OCHF2 *O[CH](F)F OCHF<sub>2</sub> F<sub>2</sub>HCO
        N(C2H5)2 *N([CH2][CH3])[CH2][CH3] N(C<sub>2</sub>H<sub>5</sub>)<sub>2</sub> (H<sub>5</sub>C<sub>2</sub>)<sub>2</sub>N
        N(CH3)2 *N([CH3])[CH3] N(CH<sub>3</sub>)<sub>2</sub> (H<sub>3</sub>C)<sub>2</sub>N
        NHCH3 *[NH][CH3] NHCH<sub>3</sub> H<sub>3</sub>CHN
        SCH3 *S[CH3] SCH<sub>3</sub> H<sub>3</sub>CS
        CH2OH *[CH2][OH] CH<sub>2</sub>OH HOH<sub>2</sub>C
        C2H5 *[CH2][CH3] C<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>
        CN *C#N CN NC
        Ph *c1ccccc1 Ph Ph
    """,  # noqa: E501 (one abbreviation per line: N(C2H5)2's spelt-out text is long)
    "short": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocHN
        Boc *C(=O)OC(C)(C)C Boc Boc
        NHCbz *[NH]C(=O)O[CH2]c1ccccc1 NHCbz CbzHN
        Cbz *C(=O)O[CH2]c1ccccc1 Cbz Cbz
        CO2Me *C(=O)O[CH3] CO<sub>2</sub>Me MeO<sub>2</sub>C
        CO2Et *C(=O)O[CH2][CH3] CO<sub>2</sub>Et EtO<sub>2</sub>C
        CO2H *C(=O)[OH] CO<sub>2</sub>H HO<sub>2</sub>C
        CF3 *C(F)(F)F CF<sub>3</sub> F<sub>3</sub>C
        OMe *O[CH3] OMe MeO
        OEt *O[CH2][CH3] OEt EtO
        SO2Me *S(=O)(=O)[CH3] SO<sub>2</sub>Me MeO<sub>2</sub>S
        NEt2 *N([CH2][CH3])[CH2][CH3] NEt<sub>2</sub> Et<sub>2</sub>N
        NMe2 *N([CH3])[CH3] NMe<sub>2</sub> Me<sub>2</sub>N
        OBn *O[CH2]c1ccccc1 OBn BnO
        OPh *Oc1ccccc1 OPh PhO
        Bn *[CH2]c1ccccc1 Bn Bn
        tBu *C([CH3])([CH3])[CH3] tBu tBu
        Et *[CH2][CH3] Et Et
        Me *[CH3] Me Me
        Ph *c1ccccc1 Ph Ph
    """,
    # The same groups as many patents spell them (CH3CH2 for ethyl, C(CH3)3, C6H5); each line's
    # label is the class its text stands for, so one class reads every spelling.
    "spelled": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocNH
        NHAc *[NH]C(=O)[CH3] NHCOCH<sub>3</sub> CH<sub>3</sub>CONH
        CO2Me *C(=O)O[CH3] CO<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>O<sub>2</sub>C
        CO2Et *C(=O)O[CH2][CH3] CO<sub>2</sub>CH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>O<sub>2</sub>C
        CO2H *C(=O)[OH] CO<sub>2</sub>H HO<sub>2</sub>C
        OCF3 *OC(F)(F)F OCF<sub>3</sub> CF<sub>3</sub>O
        CF3 *C(F)(F)F CF<sub>3</sub> CF<sub>3</sub>
        OMe *O[CH3] OCH<sub>3</sub> CH<sub>3</sub>O
        OEt *O[CH2][CH3] OCH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>O
        SO2Me *S(=O)(=O)[CH3] SO<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>SO<sub>2</sub>
        NEt2 *N([CH2][CH3])[CH2][CH3] N(CH<sub>2</sub>CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>CH<sub>2</sub>)<sub>2</sub>N
        NMe2 *N([CH3])[CH3] N(CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>)<sub>2</sub>N
        NHCH3 *[NH][CH3] NHCH<sub>3</sub> CH<sub>3</sub>NH
        SMe *S[CH3] SCH<sub>3</sub> CH<sub>3</sub>S
        Ac *C(=O)[CH3] COCH<sub>3</sub> CH<sub>3</sub>CO
        tBu *C([CH3])([CH3])[CH3] C(CH<sub>3</sub>)<sub>3</sub> (CH<sub>3</sub>)<sub>3</sub>C
        iPr *[CH]([CH3])[CH3] CH(CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>)<sub>2</sub>CH
        Et *[CH2][CH3] CH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>
        CN *C#N CN NC
        Ph *c1ccccc1 C<sub>6</sub>H<sub>5</sub> C<sub>6</sub>H<sub>5</sub>
    """,  # noqa: E501 (as above)
}
PATENT_ABBREVIATION_SETS: tuple[str, ...] = tuple(_PATENT_ABBREVIATIONS)
ABBREVIATION_SETS: tuple[str, ...] = ("rdkit", *PATENT_ABBREVIATION_SETS)
# The largest part of a molecule one text group may stand for: a drawing that is mostly text
# says little about the skeleton.
_MAX_ABBREVIATION_COVERAGE = 0.4

# RDKit places bonds 1.5 depiction units long.
_DEPICTION_BOND_LENGTH = 1.5

# Canvas bounds of BMS images (pixels).
MIN_CANVAS = 160
MAX_CANVAS = 1000


@dataclasses.dataclass(frozen=True)
class DrawStyle:
    """How one molecule is drawn: canvas, line and label geometry, orientation, abbreviations.

    Lengths are in pixels except ``padding`` (a fraction of the canvas), ``multiple_bond_offset``
    and ``additional_atom_label_padding`` (fractions of a bond length, RDKit's units).
    """

    width: int = 400
    height: int = 300
    bond_length: float = 25.0
    bond_line_width: float = 1.0
    font_size: int = 12
    font: str | None = None
    rotation: float = 0.0  # degrees the whole molecule is turned by
    padding: float = 0.05
    multiple_bond_offset: float = 0.15
    additional_atom_label_padding: float = 0.0
    abbreviate: bool = False  # condense groups RDKit knows (CO2H, OMe, CF3, ...) into labels
    explicit_methyl: bool = False  # write terminal methyls as CH3 instead of a bare line end
    abbreviation_set: str = "rdkit"  # which labels ``abbreviate`` uses: ABBREVIATION_SETS
    label_chain_carbons: bool = False  # write every carbon outside a ring as C, CH, CH2, CH3
    # Write heteroatoms without their hydrogens (OH as O, NH2 as N), as some patents' drawing
    # programs do: the reader must take a bare terminal O for a hydroxyl, not for Cl.
    bare_heteroatoms: bool = False
    # Draw the hydrogen of stereocentres and aldehydes as an atom (H at the end of a wedge, a
    # hash or a line), as patents often do; the reader must not take it for F.
    explicit_hydrogens: bool = False
    # Grow the canvas until no label is cut at its edge: RDKit shrinks bonds to fit a tight
    # canvas but keeps a fixed font size, so large labels can overflow it.
    grow_to_fit_labels: bool = False
    # Draw benzene-like rings as many patents do: single lines around a circle whose radius is
    # ``aromatic_circle_size`` of the ring's inner radius (``circled_rings`` says which rings).
    aromatic_circles: bool = False
    aromatic_circle_size: float = 0.6
    # Draw wedges and hashes as patent programs do (patent_wedges.py): ``mark_width`` of a bond
    # wide at the wide end, a hash as ``hash_dashes`` dashes as thick as the bond lines.
    patent_marks: bool = False
    mark_width: float = 0.3
    hash_dashes: int = 7


def random_style(rng: np.random.Generator, kind: StyleKind = "bms") -> DrawStyle:
    """A random style of ``kind``: ``"bms"`` (scan-like) or ``"patent"`` (clean patent drawing).

    The canvas size is chosen at random too; ``fit_canvas`` resizes it to a given molecule.
    """
    if kind == "bms":
        return _random_bms_style(rng)
    if kind == "patent":
        return _random_patent_style(rng)
    raise ValueError(f"unknown drawing style {kind!r}; choose from {', '.join(STYLE_KINDS)}")


def _random_bms_style(rng: np.random.Generator) -> DrawStyle:
    """Thin lines, small labels, any orientation: the ranges of the BMS images."""
    return DrawStyle(
        width=int(rng.integers(200, 801)),
        height=int(rng.integers(160, 601)),
        bond_length=float(rng.uniform(18.0, 34.0)),
        bond_line_width=float(rng.uniform(0.8, 2.0)),
        font_size=int(rng.integers(10, 16)),
        font=FONTS[int(rng.integers(len(FONTS)))],
        rotation=float(rng.uniform(0.0, 360.0)),
        padding=float(rng.uniform(0.02, 0.08)),
        multiple_bond_offset=float(rng.uniform(0.12, 0.22)),
        additional_atom_label_padding=float(rng.uniform(0.0, 0.12)),
        abbreviate=bool(rng.random() < 0.2),
        explicit_methyl=bool(rng.random() < 0.1),
    )


def _random_patent_style(rng: np.random.Generator) -> DrawStyle:
    """Long bonds, larger labels, upright: the ranges of clean patent drawings (USPTO).

    Bonds of 30-60 px give drawings of roughly 300-1000 px, as patent images are; labels are
    about half a bond high, as in patents, against about a third in the BMS scans. Lines are
    2-6.5% of a bond wide: uspto-300's are mostly ~3% (median 2.9%, by ink area over outline
    against the bonds the shipped model reads), thinner than the BMS scans' ~6%.
    """
    bond_length = float(rng.uniform(30.0, 60.0))
    return DrawStyle(
        bond_length=bond_length,
        bond_line_width=float(bond_length * rng.uniform(0.02, 0.065)),
        font_size=round(bond_length * rng.uniform(0.4, 0.6)),
        font=PATENT_FONTS[int(rng.integers(len(PATENT_FONTS)))],
        rotation=0.0,
        padding=float(rng.uniform(0.02, 0.08)),
        multiple_bond_offset=float(rng.uniform(0.12, 0.2)),
        additional_atom_label_padding=float(rng.uniform(0.0, 0.1)),
        abbreviate=bool(rng.random() < 0.5),
        abbreviation_set=str(rng.choice(PATENT_ABBREVIATION_SETS)),
        explicit_methyl=bool(rng.random() < 0.4),
        label_chain_carbons=bool(rng.random() < 0.15),
        grow_to_fit_labels=True,
        aromatic_circles=bool(rng.random() < 0.25),
        aromatic_circle_size=float(rng.uniform(0.5, 0.72)),
        bare_heteroatoms=bool(rng.random() < 0.15),
        explicit_hydrogens=bool(rng.random() < 0.2),
        patent_marks=bool(rng.random() < 0.6),
        mark_width=float(rng.uniform(0.2, 0.4)),
        hash_dashes=int(rng.integers(5, 10)),
    )


@functools.cache
def _abbreviations(name: str) -> tuple:
    if name == "rdkit":
        return tuple(rdAbbreviations.GetDefaultAbbreviations())
    if name not in _PATENT_ABBREVIATIONS:
        raise ValueError(f"unknown abbreviation set {name!r}; choose from {ABBREVIATION_SETS}")
    text = "\n".join(line.strip() for line in _PATENT_ABBREVIATIONS[name].strip().splitlines())
    return tuple(rdAbbreviations.ParseAbbreviations(text))


def condense(mol: Chem.Mol, abbreviation_set: str = "rdkit") -> Chem.Mol:
    """A copy of ``mol`` with known groups replaced by text atoms (``abbreviation_set``).

    RDKit keeps the text in each such atom's ``atomLabel`` property; the copy is for drawing
    only, its chemistry is not the molecule's.
    """
    abbreviations = list(_abbreviations(abbreviation_set))
    with rdBase.BlockLogs():
        return rdAbbreviations.CondenseMolAbbreviations(
            mol, abbreviations, maxCoverage=_MAX_ABBREVIATION_COVERAGE
        )


def _depict(mol: Chem.Mol, style: DrawStyle) -> Chem.Mol:
    """A copy of ``mol`` to draw: abbreviations condensed, carbons labelled, 2D coordinates,
    rotated."""
    mol = cross_unspecified_double_bonds(mol)  # before condensing: see its docstring
    with rdBase.BlockLogs():
        if style.abbreviate:
            mol = condense(mol, style.abbreviation_set)
        else:
            mol = Chem.Mol(mol)
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


@functools.cache
def font_path(name: str | None) -> Path | None:
    """The file of font ``name``: RDKit's fonts first, then the system's; None: built-in."""
    if name is None:
        return None
    shipped = Path(RDConfig.RDDataDir) / "Fonts" / name
    if shipped.is_file():
        return shipped
    for directory in _SYSTEM_FONT_DIRS:
        found = sorted(directory.rglob(name)) if directory.is_dir() else []
        if found:
            return found[0]
    return None


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
