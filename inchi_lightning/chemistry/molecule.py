"""RDKit both ways for molgraph.py's records: a drawn molecule to a graph, a graph to an InChI.

``graph_from_mol`` records what RDKit draws. Pass it the molecule the drawer drew, not the one
before: ``prepare_for_drawing`` (RDKit's ``PrepareMolForDrawing``) kekulizes it, adds the
hydrogen atoms RDKit wedges at ring fusions and picks the wedges; draw that molecule with
``drawOptions().prepareMolsBeforeDrawing = False`` (or let the drawer prepare it again: the
preparation is repeatable, it gives the same molecule) and take each atom's pixel centre from
``drawer.GetDrawCoords(i)`` after ``DrawMolecule``. A plain double bond says E or Z by its
drawn geometry, so a molecule whose double bond is neither should go through
``cross_unspecified_double_bonds`` first (before condensing groups): drawn crossed, it reads back
as the molecule's own InChI.

``molecule_from_graph`` reads a graph the way a chemist reads a drawing, through RDKit's mol
file reader: group labels are written out as their atoms, the graph becomes a V2000 mol block
(y flipped back up, wedge narrow ends first, wavy and crossed bonds as "either"), and RDKit's
parser takes tetrahedral stereo from the wedges and E/Z from the 2D coordinates exactly as it
does for any drawn mol file. A graph RDKit rejects is repaired where one plausible repair
exists (``repair``); otherwise the reading is invalid with an empty InChI. It never
raises on a graph: RDKit's errors are caught and its logging silenced (``rdBase.BlockLogs``)
inside the calls.

Not recorded in a graph, so lost on the way round: isotopes, radicals, charges outside
``CHARGES`` (``graph_from_mol`` refuses those), hydrogen counts other than RDKit's default
valence (e.g. a drawn ``SH`` on a hypervalent sulfur), and stereo inside a condensed group.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem.Draw import rdMolDraw2D

from inchi_lightning.chemistry.groups import GROUP_SMILES, expand_groups
from inchi_lightning.chemistry.molgraph import (
    CHARGE_INDEX,
    CHARGES,
    ELEMENTS,
    UNKNOWN_SYMBOL,
    GraphAtom,
    GraphBond,
    MolGraph,
)
from inchi_lightning.chemistry.repair import (
    circled_rings_read_as_lines,
    repair,
    without_orphans,
    without_stray_atoms,
    without_stray_lines,
)

_MARKUP = re.compile(r"</?su[bp]>")
_ELEMENTS = frozenset(ELEMENTS)

# Bond kinds in a V2000 mol file: (bond type, stereo).
_MOLFILE_BONDS: dict[str, tuple[int, int]] = {
    "single": (1, 0),
    "double": (2, 0),
    "triple": (3, 0),
    "aromatic": (4, 0),
    "wedge": (1, 1),
    "hash": (1, 6),
    "wavy": (1, 4),
    "crossed": (2, 3),
}


# ---------------------------------------------------------------------------------------------
# Molecule (as drawn) -> graph.
# ---------------------------------------------------------------------------------------------


def cross_unspecified_double_bonds(mol: Chem.Mol) -> Chem.Mol:
    """A copy of ``mol`` whose double bonds that could be E or Z, but are neither, are STEREOANY.

    RDKit draws those crossed (or with a wavy neighbour), where a plain double bond would say
    E or Z by its drawn geometry; their InChI does not change. Call it on the molecule itself,
    before condensing groups: a bond between two group labels looks symmetric to RDKit.
    """
    mol = Chem.Mol(mol)
    for info in Chem.FindPotentialStereo(mol):
        if (
            info.type == Chem.StereoType.Bond_Double
            and info.specified == Chem.StereoSpecified.Unspecified
        ):
            mol.GetBondWithIdx(info.centeredOn).SetStereo(Chem.BondStereo.STEREOANY)
    return mol


def wavy_unknown_centres(drawn: Chem.Mol) -> Chem.Mol:
    """A copy of ``drawn`` (prepared for drawing) with one single bond of each stereocentre
    that is neither R nor S drawn wavy, as patents mark a centre of either configuration.

    The bond is one outside rings, with no wedge yet, to the neighbour with fewest bonds (a
    methyl before a chain); a centre with none keeps its plain lines. The InChI does not change:
    a wavy bond reads back as a single bond that says nothing of the centre.
    """
    mol = Chem.Mol(drawn)
    for info in Chem.FindPotentialStereo(mol):
        if (
            info.type != Chem.StereoType.Atom_Tetrahedral
            or info.specified != Chem.StereoSpecified.Unspecified
        ):
            continue
        centre = mol.GetAtomWithIdx(info.centeredOn)
        free = [
            bond
            for bond in centre.GetBonds()
            if bond.GetBondType() == Chem.BondType.SINGLE
            and not bond.IsInRing()
            and bond.GetBondDir() == Chem.BondDir.NONE
        ]
        if free:
            bond = min(free, key=lambda bond: bond.GetOtherAtom(centre).GetDegree())
            bond.SetBondDir(Chem.BondDir.UNKNOWN)
    return mol


def prepare_for_drawing(mol: Chem.Mol, kekulize: bool = True, wavy_bonds: bool = False) -> Chem.Mol:
    """A copy of ``mol`` as RDKit's drawer draws it: Kekulé form, chiral hydrogens, wedges.

    ``mol`` needs 2D coordinates (those it will be drawn with: wedge and hash are chosen from
    them). ``wavy_bonds`` draws STEREOANY double bonds with a wavy neighbour instead of crossed.
    """
    with rdBase.BlockLogs():
        return rdMolDraw2D.PrepareMolForDrawing(mol, kekulize=kekulize, wavyBonds=wavy_bonds)


def graph_from_mol(
    mol: Chem.Mol,
    positions: Sequence[Sequence[float]] | np.ndarray,
    kekulize: bool = True,
) -> MolGraph:
    """The graph of ``mol`` as drawn, atom i at pixel ``positions[i]`` (x right, y down).

    ``mol`` is the molecule the drawer drew (see the module docstring): condensed groups
    (``rdAbbreviations.CondenseMolAbbreviations``, dummy atoms whose ``atomLabel`` holds the
    label, ``_displayLabel`` the text) become group classes, elements outside ``ATOM_SYMBOLS``
    and unknown labels ``"*"``. Bond marks come from the bond directions
    (BEGINWEDGE, BEGINDASH, UNKNOWN: wavy) and STEREOANY double bonds (crossed). Aromatic bonds
    left in ``mol`` are kekulized first, as the drawer does, unless ``kekulize`` is False (then
    they stay "aromatic", as RDKit draws them without kekulization).

    Raises ValueError when ``positions`` does not give one point per atom or an atom's charge
    is outside ``CHARGES``.
    """
    points = np.asarray(positions, dtype=np.float64)
    if points.shape != (mol.GetNumAtoms(), 2):
        raise ValueError(f"{mol.GetNumAtoms()} atoms need ({mol.GetNumAtoms()}, 2) positions")
    if kekulize and any(bond.GetIsAromatic() for bond in mol.GetBonds()):
        mol = Chem.Mol(mol)
        with rdBase.BlockLogs():
            Chem.Kekulize(mol, clearAromaticFlags=True)
    atoms = tuple(_graph_atom(atom, points[atom.GetIdx()]) for atom in mol.GetAtoms())
    bonds = tuple(_graph_bond(bond) for bond in mol.GetBonds())
    return MolGraph(atoms, bonds)


def atom_symbol(atom: Chem.Atom) -> str:
    """The class in ``ATOM_SYMBOLS`` of an atom as RDKit draws it (group labels included)."""
    if atom.GetAtomicNum() > 0:
        symbol = atom.GetSymbol()
        return symbol if symbol in _ELEMENTS else UNKNOWN_SYMBOL
    # The abbreviation's label names its group however the text spells it (N(CH2CH3)2 is
    # NEt2); RDKit's own table has labels that are no class (COOEt) but texts that are (CO2Et).
    for prop in ("atomLabel", "_displayLabel"):
        if atom.HasProp(prop):
            label = _MARKUP.sub("", atom.GetProp(prop))
            if label in GROUP_SMILES:
                return label
    return UNKNOWN_SYMBOL


def _graph_atom(atom: Chem.Atom, point: np.ndarray) -> GraphAtom:
    charge = atom.GetFormalCharge()
    if charge not in CHARGE_INDEX:
        raise ValueError(f"atom {atom.GetIdx()} has charge {charge:+d}, outside {CHARGES}")
    return GraphAtom(float(point[0]), float(point[1]), atom_symbol(atom), charge)


def _graph_bond(bond: Chem.Bond) -> GraphBond:
    begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
    return GraphBond(begin, end, _bond_kind(bond))


# The kind a single bond's direction draws it as (RDKit's wedge, hash and wavy marks).
BOND_MARKS: dict[Chem.BondDir, str] = {
    Chem.BondDir.BEGINWEDGE: "wedge",
    Chem.BondDir.BEGINDASH: "hash",
    Chem.BondDir.UNKNOWN: "wavy",
}


def _bond_kind(bond: Chem.Bond) -> str:
    """What RDKit draws for ``bond``; bond types it draws otherwise (dative, ...) read single."""
    kind = {
        Chem.BondType.DOUBLE: "double",
        Chem.BondType.TRIPLE: "triple",
        Chem.BondType.AROMATIC: "aromatic",
    }.get(bond.GetBondType(), "single")
    direction = bond.GetBondDir()
    if kind == "double" and (
        bond.GetStereo() == Chem.BondStereo.STEREOANY or direction == Chem.BondDir.EITHERDOUBLE
    ):
        return "crossed"
    if kind == "single":
        return BOND_MARKS.get(direction, "single")
    return kind


# ---------------------------------------------------------------------------------------------
# Graph -> molecule.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GraphReading:
    """What a graph says as chemistry.

    Attributes:
        inchi: the standard InChI; "" when there is none.
        smiles: RDKit's canonical SMILES, stereo included; "" when there is no molecule.
        valid: RDKit accepted the (repaired) graph and the InChI library wrote it.
        confidence: the lowest atom or bond score of the graph (0 when not valid). The graph is
            right only if every one of its parts is, so its weakest part bounds it; a product
            would fall with the molecule's size however sure each part is.
        repairs: what was changed to make RDKit accept the graph, in order. Atom numbers are
            the graph's at that step: unbonded "*" atoms and carbons dropped first, group
            labels then written out (a group's further atoms numbered after the graph's own).
        molfile: RDKit's V2000 mol block of the molecule, each atom at the graph's pixel
            position (x, -y: mol files point y up; a written-out group's atoms where
            ``expand_groups`` laid them); "" when there is no molecule.
    """

    inchi: str
    smiles: str
    valid: bool
    confidence: float
    repairs: tuple[str, ...] = ()
    molfile: str = ""


def molecule_from_graph(graph: MolGraph) -> GraphReading:
    """The standard InChI and SMILES ``graph`` draws, repaired where RDKit rejects it."""
    repairs: list[str] = []
    graph = without_stray_lines(without_stray_atoms(graph, repairs), repairs)
    if not graph.atoms:
        return GraphReading("", "", False, 0.0, tuple(repairs))
    if any(atom.symbol == UNKNOWN_SYMBOL for atom in graph.atoms):
        repairs.append("gave up: a bonded atom of unknown class '*'")
        return GraphReading("", "", False, 0.0, tuple(repairs))
    expanded, fixed = expand_groups(graph)
    expanded = circled_rings_read_as_lines(expanded, repairs)
    repaired = repair(expanded, fixed, repairs)
    if repaired is not None:
        repaired = without_orphans(expanded, repaired, repairs)
    mol = None if repaired is None else _mol_from_graph(repaired)
    if mol is None:
        if repaired is not None:
            repairs.append("gave up: RDKit's mol file reader rejected the graph")
        return GraphReading("", "", False, 0.0, tuple(repairs))
    inchi = _inchi(mol)
    with rdBase.BlockLogs():
        smiles = Chem.MolToSmiles(mol)
    confidence = _confidence(graph) if inchi else 0.0
    molfile = _molfile_in_pixels(mol, repaired)
    return GraphReading(inchi, smiles, bool(inchi), confidence, tuple(repairs), molfile)


def _confidence(graph: MolGraph) -> float:
    scores = [atom.score for atom in graph.atoms] + [bond.score for bond in graph.bonds]
    return min(scores, default=1.0)


# --- the mol file -----------------------------------------------------------------------------


def mol_block(graph: MolGraph) -> str:
    """``graph`` (elements only) as a V2000 mol block: y flipped up, one bond length 1.5.

    Wedge and hash start at ``begin`` (the narrow end), wavy and crossed bonds are "either".
    Raises ValueError for group labels (``expand_groups`` first) or unknown atoms.
    """
    bad = [atom.symbol for atom in graph.atoms if atom.symbol not in _ELEMENTS]
    if bad:
        raise ValueError(f"a mol block needs elements, not {sorted(set(bad))}")
    points = graph.points - graph.points.mean(axis=0)
    points *= 1.5 / (graph.bond_length or 1.0)
    lines = ["", "  inchi_lightning   2D", ""]
    lines.append(f"{len(graph.atoms):3d}{len(graph.bonds):3d}  0  0  0  0  0  0  0  0999 V2000")
    for atom, (x, y) in zip(graph.atoms, points, strict=True):
        lines.append(f"{x:10.4f}{-y:10.4f}{0.0:10.4f} {atom.symbol:<3} 0  0  0  0  0  0  0  0  0")
    for bond in graph.bonds:
        order, stereo = _MOLFILE_BONDS[bond.kind]
        lines.append(f"{bond.begin + 1:3d}{bond.end + 1:3d}{order:3d}{stereo:3d}")
    charged = [(i + 1, atom.charge) for i, atom in enumerate(graph.atoms) if atom.charge]
    for start in range(0, len(charged), 8):
        chunk = charged[start : start + 8]
        lines.append(f"M  CHG{len(chunk):3d}" + "".join(f"{i:4d}{c:4d}" for i, c in chunk))
    lines.append("M  END")
    return "\n".join(lines) + "\n"


def _molfile_in_pixels(mol: Chem.Mol, graph: MolGraph) -> str:
    """``mol``'s mol block with its atoms moved from ``mol_block``'s frame (centred, bonds 1.5
    long, y up) back to ``graph``'s pixels, y negated."""
    mol = Chem.Mol(mol)
    centre, scale = graph.points.mean(axis=0), (graph.bond_length or 1.0) / 1.5
    conformer = mol.GetConformer()
    for index in range(mol.GetNumAtoms()):
        x, y, _ = conformer.GetAtomPosition(index)
        conformer.SetAtomPosition(index, (x * scale + centre[0], y * scale - centre[1], 0.0))
    with rdBase.BlockLogs():
        return Chem.MolToMolBlock(mol)


def _mol_from_graph(graph: MolGraph) -> Chem.Mol | None:
    """RDKit's reading of ``graph``'s mol block (sanitized, stereo perceived, H removed)."""
    extent = np.abs(graph.points - graph.points.mean(axis=0)).max() / (graph.bond_length or 1.0)
    if len(graph.atoms) > 999 or len(graph.bonds) > 999 or extent > 5000:
        return None  # beyond V2000's columns
    with rdBase.BlockLogs():
        try:
            mol = Chem.MolFromMolBlock(mol_block(graph), sanitize=True, removeHs=True)
        except (ValueError, RuntimeError):
            return None
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def _inchi(mol: Chem.Mol) -> str:
    """The standard InChI from RDKit's stereo tags alone: the coordinates have had their say.

    RDKit's InChI writer hands the InChI library a conformer's coordinates when there is one,
    and the library then finds geometry RDKit's reading left out (e.g. a cumulene's E/Z);
    without them the InChI is written as it is for the label, a molecule with no coordinates.
    """
    mol = Chem.Mol(mol)
    mol.RemoveAllConformers()
    with rdBase.BlockLogs():
        try:
            return Chem.MolToInchi(mol) or ""
        except (ValueError, RuntimeError):
            return ""
