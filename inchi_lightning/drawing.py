"""Drawing molecules with RDKit: styles, 2D depictions, canvases fitted to the molecule.

Nothing here damages an image: synth.py adds scan damage on top. Nothing runs at import time.
RDKit's log output is silenced only inside the calls that expect noise (``rdBase.BlockLogs``).
"""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image  # a dependency of RDKit itself; decodes the Cairo PNG without OpenCV
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import rdAbbreviations, rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

# Fonts shipped in RDConfig.RDDataDir/Fonts that look like patent drawings; None is RDKit's
# built-in font. Amadeus and Comic Neue are left out: their glyphs look nothing like BMS scans.
FONTS = (None, "Telex-Regular.ttf")

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


def random_style(rng: np.random.Generator) -> DrawStyle:
    """A style in the ranges of the BMS images: thin lines, small labels, any orientation.

    The canvas size is chosen at random too; ``fit_canvas`` resizes it to a given molecule.
    """
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


def _depict(mol: Chem.Mol, style: DrawStyle) -> Chem.Mol:
    """A copy of ``mol`` to draw: abbreviations condensed, 2D coordinates, rotated."""
    with rdBase.BlockLogs():
        if style.abbreviate:
            abbreviations = rdAbbreviations.GetDefaultAbbreviations()
            mol = rdAbbreviations.CondenseMolAbbreviations(mol, abbreviations)
        else:
            mol = Chem.Mol(mol)
        rdDepictor.Compute2DCoords(mol)
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
    if style.font is not None:
        options.fontFile = str(Path(RDConfig.RDDataDir) / "Fonts" / style.font)


def draw(mol: Chem.Mol, style: DrawStyle) -> np.ndarray:
    """``mol`` drawn in ``style``: (height, width) uint8 gray, black ink on white (255), no damage.

    Raises ``ValueError`` when RDKit cannot lay the molecule out or draw it.
    """
    depiction = _depict(mol, style)
    drawer = rdMolDraw2D.MolDraw2DCairo(style.width, style.height)
    _drawing_options(drawer, style)
    try:
        with rdBase.BlockLogs():
            drawer.DrawMolecule(depiction)
    except RuntimeError as exc:
        raise ValueError(f"RDKit could not draw {Chem.MolToSmiles(mol)}: {exc}") from exc
    drawer.FinishDrawing()
    with Image.open(io.BytesIO(drawer.GetDrawingText())) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8).copy()
