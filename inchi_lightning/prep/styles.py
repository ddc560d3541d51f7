"""Drawing styles: how one molecule is drawn (``DrawStyle``) and the random styles synth draws
with, ``"bms"`` (thin lines, small labels, any orientation: the Kaggle BMS scans) and
``"patent"`` (long bonds, large and serif fonts, text groups, circles, patent wedges: USPTO).

A style is plain data: drawing.py draws with it, synth.py picks one per image from its own
random stream, so the same seed gives the same styles on every machine (only the glyphs of a
font missing from the machine differ: ``font_path``).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Literal

import numpy as np
from rdkit import RDConfig

from inchi_lightning.prep.abbreviations import PATENT_ABBREVIATION_SETS

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
    # Draw a hash as dashes of one length (ISIS's hashed bond) instead of a widening fan: the
    # reader must tell the stereocentre end without a narrow end to see.
    parallel_hashes: bool = False
    # Draw a wavy bond at each stereocentre the molecule leaves open, as patents mark a centre
    # of either configuration (molecule.wavy_unknown_centres).
    wavy_unknown_centres: bool = False
    # Write position numbers beside the atoms of two rings (1, 2, ..., 1', 2', ...), as some
    # patents do: small digits and primes the reader must not take for atoms.
    atom_numbers: bool = False


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
        wavy_unknown_centres=bool(rng.random() < 0.15),
        atom_numbers=bool(rng.random() < 0.05),
        parallel_hashes=bool(rng.random() < 0.25),
    )


# Where the fonts that RDKit does not ship come from, for the warning when they are missing.
FONT_PACKAGE = "fonts-urw-base35 (Debian), fonts-dejavu-core"


def missing_fonts(kind: StyleKind) -> list[str]:
    """The fonts of ``kind``'s styles that are on neither RDKit's nor the system's font path."""
    names = FONTS if kind == "bms" else PATENT_FONTS
    return sorted({name for name in names if name is not None and font_path(name) is None})


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
