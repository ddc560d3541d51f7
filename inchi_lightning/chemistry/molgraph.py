"""A molecule as drawn: atoms at pixel positions, bonds between them. No RDKit, no torch.

One plain record serves two ends: the drawing code writes one per synthetic image (the
annotation a graph recogniser trains on), and the recogniser writes one per image it reads
(molecule.py turns it into a molecule and an InChI). Everything here is what is *seen*:

Atoms (``ATOM_SYMBOLS``, the atom classifier's classes, index = class):
    ``"*"`` first, the catch-all for anything else (class 0 whatever is appended later); then
    elements; then the text labels of condensed groups that the drawings write
    (prep/abbreviations.py's ``"formula"``/``"short"`` sets and RDKit's default abbreviations).
    A label's class is its text as RDKit writes it when the bond comes from the left, markup
    dropped (``CO<sub>2</sub>Et`` -> ``"CO2Et"``): mirrored spellings (``MeO``) are the same
    class, and RDKit labels that draw the same text (``CO2Et``/``COOEt``, ``CO2-``/``COO-``) are
    one class. Different texts for one group (``OMe``/``OCH3``, ``CO2H``/``COOH``) stay separate
    classes: they look different. ``"Ac"`` is acetyl, never actinium. New classes are appended,
    never inserted, so stored class indices keep their meaning.
    Written-out carbons (``CH3``, ``CH2``, explicit methyls) are class ``"C"``: hydrogens are
    never classes of their own, except drawn hydrogen atoms (``"H"``, e.g. RDKit's wedged H
    at ring fusions).

Charges (``CHARGES = (-1, 0, 1, 2, 3, 4)``):
    the charge written at an atom. In RDKit's corpus (16.5k molecules) atoms charged +-1 are
    1,830 and all others 27, metal ions at +2/+3, and the InChI of a metal complex comes back
    from RDKit as a free ion at up to +4 (``Cu4+`` beside two phenolates). When the
    classes stopped at +1: such drawings went unrecorded, never trained on, and every one of
    them was misread (6 of the 2,228 held-out drawings). +2 to +4 are appended, so stored class
    indices keep their meaning; charges below -1 are rarer still (3 in 93,000 drawings) and
    stay unrecorded.

Bonds (``BOND_KINDS``): what the line looks like. ``"wedge"`` (solid) and ``"hash"`` (dashed
    wedge) start narrow at their stereocentre: in a ``GraphBond`` of those kinds ``begin`` is
    the narrow end, as in a mol file. ``"wavy"`` is a single bond of unknown stereo,
    ``"crossed"`` a double bond of unknown geometry (RDKit draws STEREOANY double bonds so).

Pairs (``PAIR_CLASSES``, the bond classifier's classes over an *ordered* atom pair (i, j)):
    ``"none"`` (no bond) plus every kind, where ``"wedge"``/``"hash"`` mean the narrow end is at
    i and ``"wedge_reversed"``/``"hash_reversed"`` that it is at j. ``pair_class(graph, i, j)``
    gives the training target, ``pair_class_matrix(graph)`` all of them, ``bond_from_pair`` and
    ``bonds_from_pair_classes`` turn predictions back into bonds.

Coordinates are pixels of the image, x right, y down (the molecule's y axis flipped), so a
graph transforms with its image (``MolGraph.transformed``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

UNKNOWN_SYMBOL = "*"

ELEMENTS: tuple[str, ...] = (
    # organic and medicinal chemistry
    *("C", "H", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se"),
    # counter-ions and metals found in RDKit's drug-like corpus and in PubChem drawings
    *("Na", "K", "Li", "Mg", "Ca", "Al", "As", "Sb", "Bi", "Sn", "Ge", "Te"),
    *("Fe", "Co", "Ni", "Cu", "Zn", "Mn", "Cr", "Cd", "Hg", "Pt"),
)

GROUP_LABELS: tuple[str, ...] = (
    # abbreviations.py's "short" and "formula" sets
    *("Me", "Et", "tBu", "Ph", "Boc", "OMe", "OEt", "CF3", "CO2H", "CO2Me", "CO2Et"),
    *("OCH3", "OC2H5", "COOH", "COOCH3", "COOC2H5", "OCF3", "NO2", "CN"),
    # the rest of RDKit's default abbreviations (rdAbbreviations.GetDefaultAbbreviations)
    *("nPr", "iPr", "nBu", "iBu", "iPent", "nPent", "nHex", "nHept", "nOct", "nNon", "nDec"),
    *("OiBu", "NCF3", "CCl3", "NC", "N(OH)CH3", "NO", "SO3H", "OAc", "NHAc", "Ac", "CHO"),
    *("NMe", "SMe", "COO-"),
    # patent text groups added later to abbreviations.py's sets (uspto-300: Et2N, N(CH3)2, ...)
    *("NMe2", "NEt2", "N(CH3)2", "N(C2H5)2", "NHCH3", "CH2OH", "CONH2", "SO2NH2", "SO2CH3"),
    *("SO2Me", "COCH3", "SCH3", "OCHF2", "C2H5", "NHBoc", "Bn", "OBn", "OPh"),
    *("NHCbz", "Cbz"),
    # chains condensed between two bonds (abbreviations.py's linkers)
    *("CH2CH2", "(CH2)3", "(CH2)4"),
    # protecting groups patents write as text (uspto-300: PMBN, Trt), in every patent set
    *("PMB", "Trt", "TBS", "OTBS", "Ts"),
    # a ring nitrogen written with its protecting group, the ring's bonds on the label (PMBN)
    "PMBN",
)

ATOM_SYMBOLS: tuple[str, ...] = (UNKNOWN_SYMBOL, *ELEMENTS, *GROUP_LABELS)
CHARGES: tuple[int, ...] = (-1, 0, 1, 2, 3, 4)
BOND_KINDS: tuple[str, ...] = (
    *("single", "double", "triple", "aromatic", "wedge", "hash", "wavy", "crossed"),
)
PAIR_CLASSES: tuple[str, ...] = ("none", *BOND_KINDS, "wedge_reversed", "hash_reversed")
DIRECTED_KINDS: frozenset[str] = frozenset({"wedge", "hash"})

SYMBOL_INDEX: dict[str, int] = {symbol: index for index, symbol in enumerate(ATOM_SYMBOLS)}
CHARGE_INDEX: dict[int, int] = {charge: index for index, charge in enumerate(CHARGES)}
KIND_INDEX: dict[str, int] = {kind: index for index, kind in enumerate(BOND_KINDS)}
PAIR_INDEX: dict[str, int] = {name: index for index, name in enumerate(PAIR_CLASSES)}
NO_BOND = PAIR_INDEX["none"]

# One character per kind in the stored form (to_dict): annotations of many images stay small.
_KIND_CODES: dict[str, str] = {
    "single": "-",
    "double": "=",
    "triple": "#",
    "aromatic": ":",
    "wedge": "<",
    "hash": "!",
    "wavy": "~",
    "crossed": "x",
}
_CODE_KINDS: dict[str, str] = {code: kind for kind, code in _KIND_CODES.items()}
assert len(_CODE_KINDS) == len(BOND_KINDS) == len(_KIND_CODES)
assert len(SYMBOL_INDEX) == len(ATOM_SYMBOLS), "an atom class is listed twice"


def _check_score(score: float, what: str) -> None:
    if not 0.0 <= score <= 1.0:  # NaN fails too
        raise ValueError(f"{what} score {score!r} is not within [0, 1]")


@dataclasses.dataclass(frozen=True)
class GraphAtom:
    """One atom or group label: its centre in pixels (y down), class, charge, and confidence."""

    x: float
    y: float
    symbol: str
    charge: int = 0
    score: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.x) and math.isfinite(self.y)):
            raise ValueError(f"atom position ({self.x}, {self.y}) is not finite")
        if self.symbol not in SYMBOL_INDEX:
            raise ValueError(f"unknown atom symbol {self.symbol!r}; see molgraph.ATOM_SYMBOLS")
        if self.charge not in CHARGE_INDEX:
            raise ValueError(f"atom charge {self.charge!r} is not one of {CHARGES}")
        _check_score(self.score, "atom")

    @property
    def symbol_index(self) -> int:
        """The atom classifier's class: the position of ``symbol`` in ``ATOM_SYMBOLS``."""
        return SYMBOL_INDEX[self.symbol]

    @property
    def charge_index(self) -> int:
        """The charge classifier's class: the position of ``charge`` in ``CHARGES``."""
        return CHARGE_INDEX[self.charge]


@dataclasses.dataclass(frozen=True)
class GraphBond:
    """A bond between atoms ``begin`` and ``end``; a wedge or hash is narrow at ``begin``."""

    begin: int
    end: int
    kind: str
    score: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KIND_INDEX:
            raise ValueError(f"unknown bond kind {self.kind!r}; choose from {BOND_KINDS}")
        if self.begin == self.end:
            raise ValueError(f"bond from atom {self.begin} to itself")
        _check_score(self.score, "bond")

    @property
    def pair(self) -> frozenset[int]:
        return frozenset((self.begin, self.end))


@dataclasses.dataclass(frozen=True)
class MolGraph:
    """Atoms and the bonds between them (indices into ``atoms``), as drawn in one image.

    Lists are accepted and stored as tuples. Raises ValueError for a bond to a missing atom or
    two bonds between one pair of atoms.
    """

    atoms: tuple[GraphAtom, ...] = ()
    bonds: tuple[GraphBond, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "atoms", tuple(self.atoms))
        object.__setattr__(self, "bonds", tuple(self.bonds))
        count = len(self.atoms)
        seen: set[frozenset[int]] = set()
        for number, bond in enumerate(self.bonds):
            for index in (bond.begin, bond.end):
                if not (isinstance(index, (int, np.integer)) and 0 <= index < count):
                    raise ValueError(f"bond {number} names atom {index!r}; there are {count}")
            if bond.pair in seen:
                raise ValueError(f"bond {number} repeats atoms {bond.begin}-{bond.end}")
            seen.add(bond.pair)

    @property
    def points(self) -> np.ndarray:
        """(atoms, 2) float64: every atom's (x, y) in pixels."""
        return np.array([(atom.x, atom.y) for atom in self.atoms], dtype=np.float64).reshape(-1, 2)

    @property
    def bond_length(self) -> float:
        """The median length of the bonds that have one, in pixels: the drawing's scale. 0 for
        a graph without such bonds, which has none; each caller says what stands in for it."""
        points = self.points
        lengths = [np.hypot(*(points[b.begin] - points[b.end])) for b in self.bonds]
        lengths = [length for length in lengths if length > 0]
        return float(np.median(lengths)) if lengths else 0.0

    @property
    def symbol_index(self) -> np.ndarray:
        """(atoms,) int64: every atom's class in ``ATOM_SYMBOLS``."""
        return np.array([atom.symbol_index for atom in self.atoms], dtype=np.int64)

    @property
    def charge_index(self) -> np.ndarray:
        """(atoms,) int64: every atom's class in ``CHARGES``."""
        return np.array([atom.charge_index for atom in self.atoms], dtype=np.int64)

    def transformed(self, matrix: Sequence[Sequence[float]] | np.ndarray) -> MolGraph:
        """The graph with every point mapped by the affine ``matrix`` (2x3, or 3x3 ending 0 0 1).

        ``matrix`` maps pixel (x, y) to ``matrix @ (x, y, 1)``: the matrix that turned, cropped,
        scaled or padded the image (e.g. OpenCV's ``warpAffine`` matrix). A mirroring matrix
        (negative determinant) mirrors the drawn molecule and so swaps its wedges' meaning.
        """
        affine = np.asarray(matrix, dtype=np.float64)
        if affine.shape == (3, 3) and np.allclose(affine[2], (0.0, 0.0, 1.0)):
            affine = affine[:2]
        if affine.shape != (2, 3):
            raise ValueError(f"an affine matrix is 2x3, got shape {affine.shape}")
        return self.with_points(self.points @ affine[:, :2].T + affine[:, 2])

    def with_points(self, points: np.ndarray) -> MolGraph:
        """The graph with its atoms at ``points`` ((atoms, 2) pixels), bonds unchanged."""
        atoms = tuple(
            dataclasses.replace(atom, x=float(x), y=float(y))
            for atom, (x, y) in zip(self.atoms, points, strict=True)
        )
        return MolGraph(atoms, self.bonds)

    def within(self, side: float) -> MolGraph:
        """The graph with every point moved into the square image [0, side - 1]: an atom whose
        ink damage erased at the drawing's edge lies just outside the cleaned crop."""
        return self.with_points(np.clip(self.points.reshape(-1, 2), 0, side - 1))

    def to_dict(self, decimals: int | None = 2) -> dict[str, list]:
        """A JSON-friendly form, compact: ``from_dict`` reads it back.

        ``{"atoms": [[x, y, symbol(, charge(, score))], ...], "bonds": [[begin, end, code(,
        score)], ...]}``: charge and score are written only when they differ from 0 and 1, bond
        kinds as one character (``-`` single, ``=`` double, ``#`` triple, ``:`` aromatic, ``<``
        wedge, ``!`` hash, ``~`` wavy, ``x`` crossed). Coordinates are rounded to ``decimals``
        (None: kept whole).
        """

        def number(value: float) -> float:
            return value if decimals is None else round(value, decimals)

        atoms = []
        for atom in self.atoms:
            row: list[Any] = [number(atom.x), number(atom.y), atom.symbol]
            if atom.score != 1.0:
                row += [atom.charge, atom.score]
            elif atom.charge != 0:
                row.append(atom.charge)
            atoms.append(row)
        bonds = []
        for bond in self.bonds:
            row = [bond.begin, bond.end, _KIND_CODES[bond.kind]]
            if bond.score != 1.0:
                row.append(bond.score)
            bonds.append(row)
        return {"atoms": atoms, "bonds": bonds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[Sequence[Any]]]) -> MolGraph:
        """The graph ``to_dict`` wrote; ValueError for anything else."""
        try:
            atoms = [GraphAtom(float(r[0]), float(r[1]), str(r[2]), *r[3:5]) for r in data["atoms"]]
            bonds = [
                GraphBond(int(r[0]), int(r[1]), _CODE_KINDS[r[2]], *r[3:4]) for r in data["bonds"]
            ]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"not a stored MolGraph: {exc!r}") from exc
        return cls(tuple(atoms), tuple(bonds))


# ---------------------------------------------------------------------------------------------
# The bond classifier's view: one class per ordered atom pair.
# ---------------------------------------------------------------------------------------------


def _kind_pair_class(kind: str, narrow_at_first: bool) -> int:
    if kind in DIRECTED_KINDS and not narrow_at_first:
        return PAIR_INDEX[f"{kind}_reversed"]
    return PAIR_INDEX[kind]


def pair_class(graph: MolGraph, i: int, j: int) -> int:
    """The class in ``PAIR_CLASSES`` of the ordered pair (i, j): ``NO_BOND`` when not bonded.

    A wedge whose narrow end is atom i is ``"wedge"`` for (i, j) and ``"wedge_reversed"`` for
    (j, i); the same for hash. The other kinds read the same both ways.
    """
    for bond in graph.bonds:
        if {bond.begin, bond.end} == {i, j} and i != j:
            return _kind_pair_class(bond.kind, bond.begin == i)
    return NO_BOND


def pair_class_matrix(graph: MolGraph) -> np.ndarray:
    """(atoms, atoms) int64: ``pair_class(graph, i, j)`` at [i, j]; ``NO_BOND`` on the diagonal."""
    count = len(graph.atoms)
    classes = np.full((count, count), NO_BOND, dtype=np.int64)
    for bond in graph.bonds:
        classes[bond.begin, bond.end] = _kind_pair_class(bond.kind, True)
        classes[bond.end, bond.begin] = _kind_pair_class(bond.kind, False)
    return classes


def reversed_pair_class(index: int) -> int:
    """The class of (j, i) when (i, j) has class ``index``."""
    name = PAIR_CLASSES[index]
    if name in DIRECTED_KINDS:
        return PAIR_INDEX[f"{name}_reversed"]
    if name.endswith("_reversed"):
        return PAIR_INDEX[name.removesuffix("_reversed")]
    return index


def bond_from_pair(i: int, j: int, index: int, score: float = 1.0) -> GraphBond | None:
    """The bond that class ``index`` of the ordered pair (i, j) stands for; None for no bond."""
    name = PAIR_CLASSES[index]
    if name == "none":
        return None
    if name.endswith("_reversed"):
        return GraphBond(j, i, name.removesuffix("_reversed"), score)
    return GraphBond(i, j, name, score)


def bonds_from_pair_classes(
    classes: np.ndarray, scores: np.ndarray | None = None
) -> tuple[GraphBond, ...]:
    """Bonds from a classifier's (atoms, atoms) class matrix (and optional (atoms, atoms) scores).

    Each unordered pair is read once: from [i, j] (i < j) without scores; with scores, from
    whichever of [i, j] and [j, i] scored higher, so the two readings need not agree.
    """
    classes = np.asarray(classes)
    if classes.ndim != 2 or classes.shape[0] != classes.shape[1]:
        raise ValueError(f"pair classes must be a square matrix, got shape {classes.shape}")
    bonds = []
    for i, j in zip(*np.triu_indices(classes.shape[0], k=1), strict=True):
        i, j, score = int(i), int(j), 1.0
        if scores is not None and scores[j, i] > scores[i, j]:
            i, j = j, i
        if scores is not None:
            score = float(scores[i, j])
        bond = bond_from_pair(i, j, int(classes[i, j]), score)
        if bond is not None:
            bonds.append(bond)
    return tuple(bonds)
