"""A read graph made one RDKit accepts and a drawing could show: stray atoms and lines dropped,
one repair at a time for each complaint RDKit's sanitization has, and rings RDKit accepts but
no drawing holds (a triple bond in a benzene ring) mended; each change the likeliest reading
of what the drawing meant.

``molecule_from_graph`` (molecule) calls these in order: ``without_stray_atoms`` and
``without_stray_lines`` on the graph as read, ``circled_rings_read_as_lines`` and ``repair``
once group labels are written out, ``without_orphans`` on what the repairs left. Every change
is noted in the caller's ``repairs`` list, which ``GraphReading`` reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rdkit import Chem, rdBase

from inchi_lightning.chemistry.molgraph import UNKNOWN_SYMBOL, GraphAtom, GraphBond, MolGraph

# Bond kinds as RDKit bonds; wedges, hashes, wavy and crossed bonds say stereo, not order.
_BOND_TYPES: dict[str, Chem.BondType] = {
    "single": Chem.BondType.SINGLE,
    "double": Chem.BondType.DOUBLE,
    "triple": Chem.BondType.TRIPLE,
    "aromatic": Chem.BondType.AROMATIC,
    "wedge": Chem.BondType.SINGLE,
    "hash": Chem.BondType.SINGLE,
    "wavy": Chem.BondType.SINGLE,
    "crossed": Chem.BondType.DOUBLE,
}
_ORDER = {Chem.BondType.SINGLE: 1.0, Chem.BondType.DOUBLE: 2.0, Chem.BondType.TRIPLE: 3.0}
_BOND_ORDER = {kind: _ORDER.get(bond_type, 1.5) for kind, bond_type in _BOND_TYPES.items()}
_HALOGENS = ("F", "Cl", "Br", "I")
_LOWER_ORDER = {"triple": "double", "double": "single", "crossed": "single", "aromatic": "single"}


def without_stray_atoms(graph: MolGraph, repairs: list[str]) -> MolGraph:
    """``graph`` less its unbonded atoms of class "*", and its unbonded uncharged atoms when
    anything in it is bonded: specks, page numbers and caption letters read as atoms, most
    likely. A drawing shows a counter-ion with its charge (Cl-, Na+), and a neutral molecule of
    one atom (water, ammonia, HCl) as text beside the name, not as a fragment; of uspto-300's
    readings, lone neutral atoms were stray text each time, but for a chloride beside a
    cation read without its minus (``_halides_beside_cations``). Carbons are never drawn bare either
    (methane is written CH4), so an unbonded carbon goes unless it is all there is.
    """
    bonded = {index for bond in graph.bonds for index in bond.pair}
    graph = _halides_beside_cations(graph, bonded, repairs)
    unknown = {
        index
        for index, atom in enumerate(graph.atoms)
        if atom.symbol == UNKNOWN_SYMBOL and index not in bonded
    }
    lone = {
        index
        for index, atom in enumerate(graph.atoms)
        if index not in bonded | unknown and atom.charge == 0 and (bonded or atom.symbol == "C")
    }
    if not bonded and len(lone) == len(graph.atoms) - len(unknown) == 1:
        lone = set()  # one atom and nothing else: that is the molecule
    for index in sorted(unknown | lone):
        kind = "unknown" if index in unknown else graph.atoms[index].symbol
        repairs.append(f"dropped unbonded {kind} atom {index}")
    return _without_atoms(graph, unknown | lone)


def without_stray_lines(graph: MolGraph, repairs: list[str]) -> MolGraph:
    """``graph`` less each lone line, two bare carbons and a single bond apart, when a larger
    fragment is drawn beside it: a reaction arrow's shaft or a rule under the drawing. Ethane
    is never drawn as a bare line beside another molecule (uspto-300's arrow to "Compound of
    Formula I" was read as one)."""
    fragments = _fragments(graph)
    if max(map(len, fragments), default=0) <= 2:
        return graph
    drop: set[int] = set()
    for group in fragments:
        bare = all(graph.atoms[i].symbol == "C" and graph.atoms[i].charge == 0 for i in group)
        if len(group) != 2 or not bare:
            continue
        (line,) = [bond for bond in graph.bonds if bond.begin in group]
        if line.kind == "single":
            drop |= group
            repairs.append(f"dropped the lone line {line.begin}-{line.end}")
    return _without_atoms(graph, drop)


def _fragments(graph: MolGraph) -> list[set[int]]:
    """The connected sets of ``graph``'s atoms (group labels included, so not through RDKit)."""
    neighbours: dict[int, set[int]] = {index: set() for index in range(len(graph.atoms))}
    for bond in graph.bonds:
        neighbours[bond.begin].add(bond.end)
        neighbours[bond.end].add(bond.begin)
    seen: set[int] = set()
    groups = []
    for start in neighbours:
        if start in seen:
            continue
        group, frontier = {start}, [start]
        while frontier:
            for other in neighbours[frontier.pop()] - group:
                group.add(other)
                frontier.append(other)
        seen |= group
        groups.append(group)
    return groups


def _halides_beside_cations(graph: MolGraph, bonded: set[int], repairs: list[str]) -> MolGraph:
    """``graph`` with its unbonded uncharged halogens charged -1, as many as the bonded atoms'
    net positive charge: beside a drawn cation a lone Cl is its counter-ion, whose small
    superscript minus was missed (a neutral halogen atom is never drawn)."""
    net = sum(atom.charge for index, atom in enumerate(graph.atoms) if index in bonded)
    lone = [
        index
        for index, atom in enumerate(graph.atoms)
        if index not in bonded and atom.charge == 0 and atom.symbol in _HALOGENS
    ]
    atoms = list(graph.atoms)
    for index in lone[: max(net, 0)]:
        atoms[index] = dataclasses.replace(atoms[index], charge=-1)
        repairs.append(f"charged {atoms[index].symbol} atom {index} -1 beside a cation")
    return MolGraph(atoms, graph.bonds) if atoms != list(graph.atoms) else graph


def without_orphans(before: MolGraph, after: MolGraph, repairs: list[str]) -> MolGraph:
    """``after`` less the carbons its repairs left unbonded: a lone carbon is never drawn bare,
    so the atom at the far end of a dropped bond was most likely read from the same stray ink.
    """
    bonded_before = {index for bond in before.bonds for index in bond.pair}
    bonded_after = {index for bond in after.bonds for index in bond.pair}
    orphans = {
        index
        for index, atom in enumerate(after.atoms)
        if atom.symbol == "C" and index in bonded_before - bonded_after
    }
    for index in sorted(orphans):
        repairs.append(f"dropped carbon atom {index} left unbonded")
    return _without_atoms(after, orphans)


def circled_rings_read_as_lines(graph: MolGraph, repairs: list[str]) -> MolGraph:
    """``graph`` with each ring of seven atoms or fewer that holds a triple bond or an atom
    with two of the ring's double bonds made aromatic, when at least half its bonds are
    multiple: a circled ring whose circle, close beside its bonds, was read as their second
    and third lines. RDKit accepts such rings, but no drawn ring that small holds either."""
    with rdBase.BlockLogs():
        mol = _skeleton(graph)
        Chem.GetSymmSSSR(mol)
    bonds = list(graph.bonds)
    for ring in mol.GetRingInfo().BondRings():
        kinds = [bonds[index].kind for index in ring]
        doubles = [bonds[index].pair for index in ring if bonds[index].kind == "double"]
        cumulated = any(len(a & b) for k, a in enumerate(doubles) for b in doubles[k + 1 :])
        multiple = len(ring) - kinds.count("single")
        if len(ring) > 7 or 2 * multiple < len(ring) or not ("triple" in kinds or cumulated):
            continue
        for index in ring:
            bonds[index] = dataclasses.replace(bonds[index], kind="aromatic")
        atoms = sorted({atom for index in ring for atom in bonds[index].pair})
        repairs.append(f"made the circled ring of atoms {atoms} aromatic")
    return MolGraph(graph.atoms, bonds) if bonds != list(graph.bonds) else graph


def _without_atoms(graph: MolGraph, drop: set[int]) -> MolGraph:
    if not drop:
        return graph
    new_index = {}
    for index in range(len(graph.atoms)):
        if index not in drop:
            new_index[index] = len(new_index)
    atoms = tuple(atom for index, atom in enumerate(graph.atoms) if index not in drop)
    bonds = tuple(
        dataclasses.replace(bond, begin=new_index[bond.begin], end=new_index[bond.end])
        for bond in graph.bonds
        if bond.begin not in drop and bond.end not in drop
    )
    return MolGraph(atoms, bonds)


def _skeleton(graph: MolGraph) -> Chem.RWMol:
    """``graph`` (elements only) as an unsanitized RDKit molecule: atoms, charges, bond types."""
    mol = Chem.RWMol()
    for atom in graph.atoms:
        rd_atom = Chem.Atom(atom.symbol)
        rd_atom.SetFormalCharge(atom.charge)
        mol.AddAtom(rd_atom)
    for bond in graph.bonds:
        mol.AddBond(bond.begin, bond.end, _BOND_TYPES[bond.kind])
    for bond in mol.GetBonds():
        if bond.GetBondType() == Chem.BondType.AROMATIC:
            bond.SetIsAromatic(True)
            bond.GetBeginAtom().SetIsAromatic(True)
            bond.GetEndAtom().SetIsAromatic(True)
    return mol


def _first_problem(graph: MolGraph) -> tuple[str, tuple[int, ...]] | None:
    """RDKit's first complaint about ``graph``: (kind, atom indices); None when it has none."""
    with rdBase.BlockLogs():
        mol = _skeleton(graph)
        problems = Chem.DetectChemistryProblems(mol)
    if not problems:
        return None
    problem = problems[0]
    if problem.GetType() == "KekulizeException":
        return problem.GetType(), tuple(problem.GetAtomIndices())
    return problem.GetType(), (problem.GetAtomIdx(),)


def repair(
    graph: MolGraph, fixed: frozenset[frozenset[int]], repairs: list[str]
) -> MolGraph | None:
    """``graph`` changed until RDKit accepts it, each change noted in ``repairs``; None: gave up.

    An over-full atom: a neutral N or P with four bonds is charged +1 (ammonium, phosphonium:
    a missed "+" is likelier than a spurious bond); otherwise its least certain bond (outside
    groups) loses one order, a single bond goes. An aromatic ring that cannot be kekulized:
    a ring read mostly aromatic but with single or double bonds among them (a circled ring
    whose circle a bond was read without) becomes all aromatic; else a two-bonded aromatic N
    gets its H (pyrrole-like N, whose H the graph does not say).
    """
    for _ in range(len(graph.bonds) + len(graph.atoms) + 1):
        problem = _first_problem(graph)
        if problem is None:
            return graph
        kind, indices = problem
        if kind == "AtomValenceException":
            changed = _charge_onium(graph, indices[0], repairs) or _weaken_bond(
                graph, indices[0], fixed, repairs
            )
        elif kind in ("KekulizeException", "AtomKekulizeException"):
            changed = _aromatise_mixed_ring(graph, indices, repairs) or _add_aromatic_nh(
                graph, indices, repairs
            )
        else:
            changed = None
        if changed is None:
            repairs.append(f"gave up: {kind} at atoms {list(indices)}")
            return None
        graph = changed
    repairs.append("gave up: too many repairs")
    return None


def _atom_valence(graph: MolGraph, index: int) -> float:
    return sum(_BOND_ORDER[bond.kind] for bond in graph.bonds if index in bond.pair)


def _charge_onium(graph: MolGraph, index: int, repairs: list[str]) -> MolGraph | None:
    atom = graph.atoms[index]
    if atom.symbol not in ("N", "P") or atom.charge != 0 or _atom_valence(graph, index) != 4:
        return None
    repairs.append(f"charged {atom.symbol} atom {index} +1")
    atoms = list(graph.atoms)
    atoms[index] = dataclasses.replace(atom, charge=1)
    return MolGraph(tuple(atoms), graph.bonds)


def _weaken_bond(
    graph: MolGraph, index: int, fixed: frozenset[frozenset[int]], repairs: list[str]
) -> MolGraph | None:
    candidates = [
        number
        for number, bond in enumerate(graph.bonds)
        if index in bond.pair and bond.pair not in fixed
    ]
    if not candidates:
        return None
    number = min(candidates, key=lambda n: graph.bonds[n].score)  # the first of equal scores
    bond = graph.bonds[number]
    bonds = list(graph.bonds)
    where = f"{bond.kind} bond {bond.begin}-{bond.end} at over-full atom {index}"
    if bond.kind in _LOWER_ORDER:
        repairs.append(f"made {where} {_LOWER_ORDER[bond.kind]}")
        bonds[number] = dataclasses.replace(bond, kind=_LOWER_ORDER[bond.kind])
        return MolGraph(graph.atoms, tuple(bonds))
    repairs.append(f"dropped {where}")
    del bonds[number]
    return MolGraph(graph.atoms, tuple(bonds))


def _aromatise_mixed_ring(
    graph: MolGraph, indices: Sequence[int], repairs: list[str]
) -> MolGraph | None:
    """The most aromatic ring through ``indices`` made all aromatic, when at least half of its
    bonds are and the rest are single or double."""
    with rdBase.BlockLogs():
        skeleton = _skeleton(graph)
        skeleton.UpdatePropertyCache(strict=False)
        Chem.FastFindRings(skeleton)
    failing = set(indices)
    rings = [
        ring
        for ring in skeleton.GetRingInfo().BondRings()
        if failing & {atom for number in ring for atom in graph.bonds[number].pair}
    ]

    def aromatic_bonds(ring: Sequence[int]) -> int:
        return sum(graph.bonds[number].kind == "aromatic" for number in ring)

    for ring in sorted(rings, key=aromatic_bonds, reverse=True):
        aromatic = aromatic_bonds(ring)
        mixed = [n for n in ring if graph.bonds[n].kind in ("single", "double")]
        if mixed and aromatic + len(mixed) == len(ring) and 2 * aromatic >= len(ring):
            bonds = list(graph.bonds)
            for number in mixed:
                bonds[number] = dataclasses.replace(bonds[number], kind="aromatic")
            pairs = ", ".join(f"{bonds[n].begin}-{bonds[n].end}" for n in mixed)
            repairs.append(f"made bonds {pairs} of a mostly aromatic ring aromatic")
            return MolGraph(graph.atoms, tuple(bonds))
    return None


def _add_aromatic_nh(
    graph: MolGraph, indices: Sequence[int], repairs: list[str]
) -> MolGraph | None:
    for index in indices:
        atom = graph.atoms[index]
        bonds = [bond for bond in graph.bonds if index in bond.pair]
        if atom.symbol == "N" and atom.charge == 0 and len(bonds) == 2:
            if all(bond.kind == "aromatic" for bond in bonds):
                repairs.append(f"gave aromatic N atom {index} its H")
                hydrogen = GraphAtom(atom.x, atom.y, "H", 0, atom.score)
                bond = GraphBond(index, len(graph.atoms), "single", atom.score)
                return MolGraph((*graph.atoms, hydrogen), (*graph.bonds, bond))
    return None
