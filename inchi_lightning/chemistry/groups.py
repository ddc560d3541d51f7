"""Group labels written out: what each label a drawing may show stands for (``GROUP_SMILES``),
and ``expand_groups``, which puts a label's atoms where the drawing implies them.

A reading of a drawing keeps a group such as OMe, CO2Et or CH2CH2 as one atom with the label
for its class; before RDKit sees the graph the label becomes the atoms it names, laid out one
drawn bond apart, so that the mol file has the coordinates RDKit's stereo perception needs.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDepictor

from inchi_lightning.chemistry.molgraph import GROUP_LABELS, GraphAtom, GraphBond, MolGraph

# What each group label stands for: SMILES with the attachment point ``*`` first, as
# prep/abbreviations.py and RDKit's default abbreviations define them (RDKit's "iBu" and "iPent"
# are sec-butyl and pentan-2-yl: the drawings say so, so the readings must too).
GROUP_SMILES: dict[str, str] = {
    "Me": "*C",
    "Et": "*CC",
    "nPr": "*CCC",
    "iPr": "*C(C)C",
    "nBu": "*CCCC",
    "iBu": "*C(C)CC",
    "tBu": "*C(C)(C)C",
    "nPent": "*CCCCC",
    "iPent": "*C(C)CCC",
    "nHex": "*CCCCCC",
    "nHept": "*CCCCCCC",
    "nOct": "*CCCCCCCC",
    "nNon": "*CCCCCCCCC",
    "nDec": "*CCCCCCCCCC",
    "Ph": "*c1ccccc1",
    "Boc": "*C(=O)OC(C)(C)C",
    "OMe": "*OC",
    "OCH3": "*OC",
    "OEt": "*OCC",
    "OC2H5": "*OCC",
    "OiBu": "*OCC(C)C",
    "CF3": "*C(F)(F)F",
    "OCF3": "*OC(F)(F)F",
    "NCF3": "*NC(F)(F)F",
    "CCl3": "*C(Cl)(Cl)Cl",
    "CO2H": "*C(=O)O",
    "COOH": "*C(=O)O",
    "COO-": "*C(=O)[O-]",
    "CO2Me": "*C(=O)OC",
    "COOCH3": "*C(=O)OC",
    "CO2Et": "*C(=O)OCC",
    "COOC2H5": "*C(=O)OCC",
    "CN": "*C#N",
    "NC": "*[N+]#[C-]",
    "NO2": "*[N+](=O)[O-]",
    "NO": "*N=O",
    "N(OH)CH3": "*N(C)O",
    "SO3H": "*S(=O)(=O)O",
    "OAc": "*OC(C)=O",
    "NHAc": "*NC(C)=O",
    "Ac": "*C(C)=O",
    "CHO": "*C=O",
    "NMe": "*NC",
    "SMe": "*SC",
    "NMe2": "*N(C)C",
    "N(CH3)2": "*N(C)C",
    "NEt2": "*N(CC)CC",
    "N(C2H5)2": "*N(CC)CC",
    "NHCH3": "*NC",
    "CH2OH": "*CO",
    "CONH2": "*C(N)=O",
    "SO2NH2": "*S(N)(=O)=O",
    "SO2CH3": "*S(C)(=O)=O",
    "SO2Me": "*S(C)(=O)=O",
    "COCH3": "*C(C)=O",
    "SCH3": "*SC",
    "OCHF2": "*OC(F)F",
    "C2H5": "*CC",
    "NHBoc": "*NC(=O)OC(C)(C)C",
    "Bn": "*Cc1ccccc1",
    "OBn": "*OCc1ccccc1",
    "OPh": "*Oc1ccccc1",
    "NHCbz": "*NC(=O)OCc1ccccc1",
    "Cbz": "*C(=O)OCc1ccccc1",
    "PMB": "*Cc1ccc(OC)cc1",
    "Trt": "*C(c1ccccc1)(c1ccccc1)c1ccccc1",
    "TBS": "*[Si](C)(C)C(C)(C)C",
    "OTBS": "*O[Si](C)(C)C(C)(C)C",
    "Ts": "*S(=O)(=O)c1ccc(C)cc1",
    # Linkers: a second "*" marks the atom the label's second bond goes to.
    "CH2CH2": "*CC*",
    "(CH2)3": "*CCC*",
    "(CH2)4": "*CCCC*",
}
# A ring nitrogen and its protecting group in one label (uspto-300: PMBN), by the group's label:
# the label's bonds are the N's, so the group stands on an N of its own.
RING_NITROGEN_GROUPS = {"PMBN": "PMB"}
GROUP_SMILES.update(
    {label: "*N" + GROUP_SMILES[group][1:] for label, group in RING_NITROGEN_GROUPS.items()}
)
assert set(GROUP_SMILES) == set(GROUP_LABELS), "every group label needs its SMILES"


@dataclasses.dataclass(frozen=True)
class _Group:
    """A group's atoms after its attachment point: symbols, charges, 2D points, bonds; and for
    a linker (a chain between two bonds) the atom its second bond goes to."""

    symbols: tuple[str, ...]
    charges: tuple[int, ...]
    points: np.ndarray  # (atoms, 2), the attachment point at the origin, the group along +x
    bonds: tuple[tuple[int, int, str], ...]
    tail: int | None = None


@functools.cache
def _group(label: str) -> _Group:
    mol = Chem.MolFromSmiles(GROUP_SMILES[label])
    Chem.Kekulize(mol, clearAromaticFlags=True)
    rdDepictor.Compute2DCoords(mol)
    coords = mol.GetConformer().GetPositions()[:, :2]  # (atoms, 2), atom 0 is the "*"
    dummies = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0]
    first = next(iter(mol.GetAtomWithIdx(0).GetNeighbors())).GetIdx()
    direction = coords[first] - coords[0]
    length = float(np.hypot(*direction))
    cos, sin = direction / length
    rotation = np.array([[cos, sin], [-sin, cos]])  # turns ``direction`` onto +x
    points = (coords - coords[first]) @ rotation.T / length  # in bond lengths
    order = [first] + [i for i in range(mol.GetNumAtoms()) if i != first and i not in dummies]
    position = {old: new for new, old in enumerate(order)}
    kinds = {Chem.BondType.SINGLE: "single", Chem.BondType.DOUBLE: "double"}
    kinds[Chem.BondType.TRIPLE] = "triple"
    bonds = tuple(
        (position[b.GetBeginAtomIdx()], position[b.GetEndAtomIdx()], kinds[b.GetBondType()])
        for b in mol.GetBonds()
        if not {b.GetBeginAtomIdx(), b.GetEndAtomIdx()} & set(dummies)
    )
    tail = None
    if len(dummies) == 2:
        tail = position[next(iter(mol.GetAtomWithIdx(dummies[1]).GetNeighbors())).GetIdx()]
    atoms = [mol.GetAtomWithIdx(i) for i in order]
    return _Group(
        symbols=tuple(atom.GetSymbol() for atom in atoms),
        charges=tuple(atom.GetFormalCharge() for atom in atoms),
        points=points[order],
        bonds=bonds,
        tail=tail,
    )


def expand_groups(graph: MolGraph) -> tuple[MolGraph, frozenset[frozenset[int]]]:
    """``graph`` with every group label written out as its atoms; and the new bonds' atom pairs.

    The group's first atom takes the label's place and bonds; the rest are laid out away from
    the label's first neighbour, one drawn bond length apart (the median bond of the graph).
    A linker's (``CH2CH2``) second bond moves to its last atom, and its atoms are laid out
    towards that bond's far atom, so that a stereocentre there sees the chain where the label
    was. The bonds inside groups are returned apart: repairs leave them alone.
    """
    atoms = list(graph.atoms)
    bonds = list(graph.bonds)
    fixed: set[frozenset[int]] = set()
    bond_length = graph.bond_length or 1.0  # a lone label: any scale
    for index, atom in enumerate(graph.atoms):
        if atom.symbol not in GROUP_SMILES:
            continue
        group = _group(atom.symbol)
        own = [position for position, bond in enumerate(graph.bonds) if index in bond.pair]
        linked = group.tail is not None and len(own) >= 2
        if linked:
            (far,) = graph.bonds[own[1]].pair - {index}  # the second bond's other atom
            points = _towards(graph.points[index], graph.points[far], len(group.symbols))
        else:
            points = _placed(group.points, graph, index, bond_length)
        atoms[index] = GraphAtom(atom.x, atom.y, group.symbols[0], group.charges[0], atom.score)
        number = {0: index}
        for member in range(1, len(group.symbols)):
            number[member] = len(atoms)
            x, y = points[member]
            atoms.append(GraphAtom(x, y, group.symbols[member], group.charges[member], atom.score))
        for begin, end, kind in group.bonds:
            bonds.append(GraphBond(number[begin], number[end], kind, atom.score))
            fixed.add(bonds[-1].pair)
        if linked:
            second = bonds[own[1]]
            ends = [
                number[group.tail] if end == index else end for end in (second.begin, second.end)
            ]
            bonds[own[1]] = dataclasses.replace(second, begin=ends[0], end=ends[1])
    return MolGraph(tuple(atoms), tuple(bonds)), frozenset(fixed)


def _towards(here: np.ndarray, there: np.ndarray, count: int) -> np.ndarray:
    """``count`` points from ``here`` part of the way to ``there``, evenly spaced."""
    steps = np.arange(count)[:, None] / (2.0 * count)  # up to half way: clear of ``there``
    return here + steps * (there - here)


def _placed(points: np.ndarray, graph: MolGraph, index: int, bond_length: float) -> np.ndarray:
    """A group's points at atom ``index``, pointing away from its first neighbour (pixels)."""
    here = graph.points[index]
    neighbours = [b.end if b.begin == index else b.begin for b in graph.bonds if index in b.pair]
    direction = np.array([1.0, 0.0])
    if neighbours:
        away = here - graph.points[neighbours[0]]
        if np.hypot(*away) > 0:
            direction = away / np.hypot(*away)
    cos, sin = direction
    # Pixel y points down: the group is mirrored by the flip, harmless without stereo inside.
    rotation = np.array([[cos, -sin], [sin, cos]])
    return here + points @ rotation.T * bond_length
