"""molgraph.py: the drawn-molecule record, its stored form, transforms and pair classes."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from inchi_lightning.chemistry.molgraph import (
    ATOM_SYMBOLS,
    BOND_KINDS,
    CHARGES,
    NO_BOND,
    PAIR_CLASSES,
    GraphAtom,
    GraphBond,
    MolGraph,
    bond_from_pair,
    bonds_from_pair_classes,
    pair_class,
    pair_class_matrix,
    reversed_pair_class,
)


def _graph() -> MolGraph:
    """A small graph with every bond kind, a charge and some scores."""
    atoms = [
        GraphAtom(10.0, 20.0, "C"),
        GraphAtom(35.5, 20.0, "N", charge=1),
        GraphAtom(48.25, 42.0, "O", charge=-1, score=0.75),
        GraphAtom(60.0, 10.0, "OMe", score=0.5),
        GraphAtom(5.0, 50.0, "Cl"),
        GraphAtom(80.0, 80.0, "C"),
        GraphAtom(90.0, 60.0, "C"),
        GraphAtom(70.0, 40.0, "*"),
        GraphAtom(100.0, 30.0, "H"),
    ]
    bonds = [
        GraphBond(0, 1, "single"),
        GraphBond(1, 2, "double", score=0.9),
        GraphBond(2, 3, "triple"),
        GraphBond(3, 4, "aromatic"),
        GraphBond(1, 4, "wedge"),
        GraphBond(5, 0, "hash", score=0.25),
        GraphBond(5, 6, "wavy"),
        GraphBond(6, 7, "crossed"),
        GraphBond(8, 6, "single"),
    ]
    return MolGraph(tuple(atoms), tuple(bonds))


def test_the_class_tables_are_fixed_and_unique() -> None:
    assert ATOM_SYMBOLS[0] == "*"  # the catch-all keeps class 0 whatever is appended later
    assert len(set(ATOM_SYMBOLS)) == len(ATOM_SYMBOLS)
    for symbol in ("C", "H", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se"):
        assert symbol in ATOM_SYMBOLS
    for label in ("OMe", "OCH3", "CO2H", "COOH", "CF3", "Ph", "Boc", "Me", "Et", "Ac"):
        assert label in ATOM_SYMBOLS
    assert CHARGES[:3] == (-1, 0, 1)  # the first classes; +2 to +4 were appended later
    assert CHARGES == (-1, 0, 1, 2, 3, 4)
    assert PAIR_CLASSES[NO_BOND] == "none"
    assert set(BOND_KINDS) < set(PAIR_CLASSES)
    assert {"wedge_reversed", "hash_reversed"} < set(PAIR_CLASSES)


def test_the_dict_form_round_trips_through_json() -> None:
    graph = _graph()
    stored = json.loads(json.dumps(graph.to_dict()))
    assert MolGraph.from_dict(stored) == graph


def test_the_dict_form_is_compact() -> None:
    stored = _graph().to_dict()
    assert stored["atoms"][0] == [10.0, 20.0, "C"]  # no charge, no score: three entries
    assert stored["atoms"][1] == [35.5, 20.0, "N", 1]
    assert stored["atoms"][3] == [60.0, 10.0, "OMe", 0, 0.5]
    assert stored["bonds"][0] == [0, 1, "-"]
    assert stored["bonds"][5] == [5, 0, "!", 0.25]  # a hash keeps its narrow end first
    assert {row[2] for row in stored["bonds"]} == set("-=#:<!~x")


def test_the_dict_form_rounds_coordinates() -> None:
    graph = MolGraph((GraphAtom(1.23456, 7.891011, "C"),))
    assert graph.to_dict()["atoms"][0][:2] == [1.23, 7.89]
    assert graph.to_dict(decimals=None)["atoms"][0][:2] == [1.23456, 7.891011]


@pytest.mark.parametrize(
    "stored",
    [
        {"atoms": [[0, 0, "C"]]},  # no bonds
        {"atoms": [[0, 0]], "bonds": []},  # no symbol
        {"atoms": [[0, 0, "Xx"]], "bonds": []},  # not a class
        {"atoms": [[0, 0, "C"], [1, 0, "C"]], "bonds": [[0, 1, "?"]]},  # not a bond code
        {"atoms": [[0, 0, "C"]], "bonds": [[0, 1, "-"]]},  # atom 1 missing
    ],
)
def test_from_dict_refuses_what_to_dict_never_writes(stored: dict) -> None:
    with pytest.raises(ValueError):
        MolGraph.from_dict(stored)


def test_transformed_applies_the_affine_matrix_to_every_point() -> None:
    graph = _graph()
    turn = math.radians(90.0)
    # Turn 90 degrees, scale by 2, then shift by (5, -3): (x, y) -> (-2y + 5, 2x - 3).
    matrix = [
        [2 * math.cos(turn), -2 * math.sin(turn), 5.0],
        [2 * math.sin(turn), 2 * math.cos(turn), -3.0],
    ]
    moved = graph.transformed(matrix)
    expected = np.stack([-2 * graph.points[:, 1] + 5, 2 * graph.points[:, 0] - 3], axis=1)
    np.testing.assert_allclose(moved.points, expected, atol=1e-9)
    assert moved.bonds == graph.bonds
    assert [a.symbol for a in moved.atoms] == [a.symbol for a in graph.atoms]
    assert [a.score for a in moved.atoms] == [a.score for a in graph.atoms]
    np.testing.assert_allclose(graph.transformed([*matrix, [0, 0, 1]]).points, expected)


def test_transformed_with_the_identity_changes_nothing() -> None:
    graph = _graph()
    assert graph.transformed(np.eye(3)) == graph


@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (4, 3)])
def test_transformed_refuses_a_matrix_that_is_not_affine(shape: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="2x3"):
        _graph().transformed(np.ones(shape))


def test_index_views_follow_the_class_tables() -> None:
    graph = _graph()
    assert graph.atoms[1].symbol_index == ATOM_SYMBOLS.index("N")
    assert graph.symbol_index.tolist() == [ATOM_SYMBOLS.index(a.symbol) for a in graph.atoms]
    assert graph.charge_index.tolist() == [CHARGES.index(a.charge) for a in graph.atoms]
    assert graph.points.shape == (len(graph.atoms), 2)
    assert MolGraph().points.shape == (0, 2)


@pytest.mark.parametrize("kind", ["wedge", "hash"])
def test_pair_class_says_where_the_narrow_end_is(kind: str) -> None:
    atoms = (GraphAtom(0, 0, "C"), GraphAtom(10, 0, "O"), GraphAtom(0, 10, "N"))
    graph = MolGraph(atoms, (GraphBond(0, 1, kind), GraphBond(2, 0, kind)))
    forward, backward = PAIR_CLASSES.index(kind), PAIR_CLASSES.index(f"{kind}_reversed")
    assert pair_class(graph, 0, 1) == forward  # narrow at 0
    assert pair_class(graph, 1, 0) == backward
    assert pair_class(graph, 2, 0) == forward  # narrow at 2
    assert pair_class(graph, 0, 2) == backward
    assert pair_class(graph, 1, 2) == NO_BOND
    assert pair_class(graph, 1, 1) == NO_BOND
    # The inverse gives back the bond, narrow end first, whichever way the pair was read.
    assert bond_from_pair(0, 1, forward) == GraphBond(0, 1, kind)
    assert bond_from_pair(1, 0, backward) == GraphBond(0, 1, kind)
    assert bond_from_pair(0, 2, backward, 0.5) == GraphBond(2, 0, kind, 0.5)
    assert bond_from_pair(1, 2, NO_BOND) is None


def test_reversed_pair_class_swaps_only_directed_classes() -> None:
    for index, name in enumerate(PAIR_CLASSES):
        back = reversed_pair_class(index)
        assert reversed_pair_class(back) == index
        if name in ("wedge", "hash", "wedge_reversed", "hash_reversed"):
            assert back != index
        else:
            assert back == index


def test_the_pair_class_matrix_reads_back_into_the_bonds() -> None:
    graph = _graph()
    classes = pair_class_matrix(graph)
    count = len(graph.atoms)
    assert classes.shape == (count, count)
    for i in range(count):
        for j in range(count):
            assert classes[i, j] == pair_class(graph, i, j)
            assert classes[j, i] == reversed_pair_class(int(classes[i, j]))

    def key(bond: GraphBond) -> tuple:  # the narrow end counts only for wedge and hash
        return bond.pair, bond.kind, bond.begin if bond.kind in ("wedge", "hash") else None

    rebuilt = bonds_from_pair_classes(classes)
    assert sorted(map(key, rebuilt), key=str) == sorted(map(key, graph.bonds), key=str)


def test_bonds_from_pair_classes_trusts_the_surer_reading() -> None:
    wedge, single = PAIR_CLASSES.index("wedge"), PAIR_CLASSES.index("single")
    classes = np.full((2, 2), NO_BOND)
    classes[0, 1], classes[1, 0] = single, wedge  # (0, 1) says single, (1, 0) a wedge from 1
    scores = np.array([[0.0, 0.6], [0.9, 0.0]])
    assert bonds_from_pair_classes(classes, scores) == (GraphBond(1, 0, "wedge", 0.9),)
    assert bonds_from_pair_classes(classes) == (GraphBond(0, 1, "single"),)
    with pytest.raises(ValueError, match="square"):
        bonds_from_pair_classes(np.zeros((2, 3), dtype=int))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GraphAtom(0, 0, "Xx"), "unknown atom symbol"),
        (lambda: GraphAtom(0, 0, "C", charge=-2), "charge"),
        (lambda: GraphAtom(0, 0, "C", score=1.5), "score"),
        (lambda: GraphAtom(0, 0, "C", score=float("nan")), "score"),
        (lambda: GraphAtom(float("inf"), 0, "C"), "finite"),
        (lambda: GraphBond(0, 1, "quadruple"), "unknown bond kind"),
        (lambda: GraphBond(1, 1, "single"), "itself"),
        (lambda: MolGraph((GraphAtom(0, 0, "C"),), (GraphBond(0, 1, "single"),)), "atom 1"),
        (lambda: MolGraph((GraphAtom(0, 0, "C"),), (GraphBond(-1, 0, "single"),)), "atom -1"),
        (
            lambda: MolGraph(
                (GraphAtom(0, 0, "C"), GraphAtom(1, 0, "C")),
                (GraphBond(0, 1, "single"), GraphBond(1, 0, "double")),
            ),
            "repeats",
        ),
    ],
)
def test_bad_records_raise_a_clear_value_error(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_lists_are_stored_as_tuples_so_graphs_compare_and_hash() -> None:
    graph = MolGraph([GraphAtom(0, 0, "C")], [])
    assert graph == MolGraph((GraphAtom(0, 0, "C"),), ())
    assert isinstance(graph.atoms, tuple)
    hash(graph)


def test_the_module_needs_neither_rdkit_nor_torch() -> None:
    code = (
        "import sys, inchi_lightning.chemistry.molgraph; "
        "print({'rdkit', 'torch'} & set(sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "set()"
