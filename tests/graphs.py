"""Hand-built graphs for the graph-to-molecule tests: rings, chains and substituents laid out
one drawn bond length apart, and the InChIs they should read as."""

from __future__ import annotations

import math

import numpy as np
from rdkit import Chem

from inchi_lightning.chemistry.molgraph import GraphAtom, GraphBond, MolGraph

BOND = 30.0  # pixels


def inchi_of(smiles: str) -> str:
    return Chem.MolToInchi(Chem.MolFromSmiles(smiles))


def ring(symbols: str | list[str], kinds: list[str], centre=(100.0, 100.0)) -> MolGraph:
    """A regular ring of atoms ``symbols`` with bond i from atom i to atom i + 1."""
    count = len(symbols)
    radius = BOND / (2 * math.sin(math.pi / count))
    atoms = [
        GraphAtom(
            centre[0] + radius * math.cos(2 * math.pi * k / count),
            centre[1] + radius * math.sin(2 * math.pi * k / count),
            symbol,
        )
        for k, symbol in enumerate(symbols)
    ]
    bonds = [GraphBond(k, (k + 1) % count, kind) for k, kind in enumerate(kinds)]
    return MolGraph(tuple(atoms), tuple(bonds))


def with_substituent(graph: MolGraph, at: int, symbol: str, kind: str = "single") -> MolGraph:
    """``graph`` with atom ``symbol`` bonded to atom ``at``, one bond length outward."""
    centre = graph.points.mean(axis=0)
    here = graph.points[at]
    out = (here - centre) / np.hypot(*(here - centre))
    x, y = here + BOND * out
    atom = GraphAtom(float(x), float(y), symbol)
    bond = GraphBond(at, len(graph.atoms), kind)
    return MolGraph((*graph.atoms, atom), (*graph.bonds, bond))


def chain(points: list[tuple[float, float, str]], bonds: list[tuple[int, int, str]]) -> MolGraph:
    return MolGraph(
        tuple(GraphAtom(x, y, symbol) for x, y, symbol in points),
        tuple(GraphBond(b, e, kind) for b, e, kind in bonds),
    )


KEKULE = ["single", "double"] * 3
BENZENE = inchi_of("c1ccccc1")
