"""Graphs RDKit rejects, read as what the drawing most likely meant: stray atoms dropped, a
missed charge put back, an over-full atom's weakest bond weakened, aromatic rings mended."""

from __future__ import annotations

import dataclasses
import math

import pytest

from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import MolGraph
from tests.graphs import BENZENE, chain, inchi_of, ring


def test_an_aromatic_pyrrole_gets_the_hydrogen_its_nitrogen_needs() -> None:
    reading = molecule_from_graph(ring("NCCCC", ["aromatic"] * 5))
    assert reading.inchi == inchi_of("c1cc[nH]c1")
    assert reading.repairs == ("gave aromatic N atom 0 its H",)


def test_a_ring_read_mostly_aromatic_becomes_all_aromatic() -> None:
    # A circled ring, two of its bonds read as drawn Kekulé: RDKit cannot kekulize the mix.
    mixed = ["aromatic"] * 4 + ["double", "single"]
    reading = molecule_from_graph(ring("CCCCCC", mixed))
    assert reading.inchi == BENZENE
    assert reading.repairs == ("made bonds 4-5, 5-0 of a mostly aromatic ring aromatic",)
    # Only rings RDKit refuses are changed: this mix it reads (as a cyclohexadiene).
    kinds = ["aromatic"] * 3 + ["double", "single", "single"]
    assert molecule_from_graph(ring("CCCCCC", kinds)).repairs == ()


def test_a_circled_ring_whose_circle_was_read_as_lines_is_aromatic() -> None:
    # The circle read as a triple bond's extra lines, or as double bonds meeting at an atom.
    for kinds in (["triple"] + ["aromatic"] * 5, ["double"] * 3 + ["single", "double", "single"]):
        reading = molecule_from_graph(ring("CCCCCC", kinds))
        assert reading.inchi == BENZENE, kinds
        assert reading.repairs == ("made the circled ring of atoms [0, 1, 2, 3, 4, 5] aromatic",)
    # A triple bond in a ring of single bonds (a drawn cyclooctyne) is left as read.
    cyclooctyne = molecule_from_graph(ring("CCCCCCCC", ["triple"] + ["single"] * 7))
    assert cyclooctyne.inchi == inchi_of("C1#CCCCCCC1") and cyclooctyne.repairs == ()


def test_a_missed_plus_on_a_four_bonded_nitrogen_is_put_back() -> None:
    points = [(0, 0, "N")] + [(30 * math.cos(k), 30 * math.sin(k), "C") for k in range(4)]
    reading = molecule_from_graph(chain(points, [(0, k, "single") for k in range(1, 5)]))
    assert reading.inchi == inchi_of("C[N+](C)(C)C")
    assert reading.repairs == ("charged N atom 0 +1",)


def test_an_over_full_carbon_loses_its_least_certain_bond() -> None:
    points = [(0, 0, "C")] + [(30 * math.cos(k), 30 * math.sin(k), "C") for k in range(5)]
    graph = chain(points, [(0, k, "single") for k in range(1, 6)])
    bonds = [dataclasses.replace(bond, score=0.9 - 0.1 * k) for k, bond in enumerate(graph.bonds)]
    reading = molecule_from_graph(MolGraph(graph.atoms, bonds))
    assert reading.inchi == inchi_of("CC(C)(C)C")
    assert reading.repairs == (
        "dropped single bond 0-5 at over-full atom 0",
        "dropped carbon atom 5 left unbonded",
    )
    assert reading.confidence == pytest.approx(0.5)  # the weakest bond of the graph as read


def test_an_over_full_multiple_bond_loses_one_order() -> None:
    graph = chain([(0, 0, "C"), (30, 0, "O")], [(0, 1, "triple")])
    reading = molecule_from_graph(graph)
    assert reading.inchi == inchi_of("C=O")
    assert reading.repairs == ("made triple bond 0-1 at over-full atom 1 double",)


def test_a_lone_halogen_beside_a_cation_is_its_counter_ion() -> None:
    # Pyridinium drawn with Cl-, the minus missed: the Cl stays, as chloride.
    pyridinium = ring("NCCCCC", ["aromatic"] * 6)
    atoms = [dataclasses.replace(pyridinium.atoms[0], charge=1), *pyridinium.atoms[1:]]
    chloride = dataclasses.replace(pyridinium.atoms[1], symbol="Cl", x=-60.0, y=0.0)
    salt = MolGraph([*atoms, chloride], pyridinium.bonds)
    reading = molecule_from_graph(salt)
    assert reading.inchi == inchi_of("c1cc[nH+]cc1.[Cl-]")
    assert reading.repairs == ("charged Cl atom 6 -1 beside a cation",)
    # Beside a neutral molecule a lone Cl is still stray text.
    neutral = MolGraph([*pyridinium.atoms, chloride], pyridinium.bonds)
    assert molecule_from_graph(neutral).repairs == ("dropped unbonded Cl atom 6",)


def test_a_lone_line_beside_a_molecule_is_an_arrow_not_ethane() -> None:
    propanol = chain(
        [(0, 0, "C"), (26, 15, "C"), (52, 0, "C"), (78, 15, "O")],
        [(0, 1, "single"), (1, 2, "single"), (2, 3, "single")],
    )
    arrow = chain([(150, 0, "C"), (200, 0, "C")], [(0, 1, "single")])
    both = MolGraph(
        [*propanol.atoms, *arrow.atoms],
        [*propanol.bonds, dataclasses.replace(arrow.bonds[0], begin=4, end=5)],
    )
    reading = molecule_from_graph(both)
    assert reading.inchi == inchi_of("CCCO")
    assert reading.repairs == ("dropped the lone line 4-5",)
    # Alone, the line is the molecule (ethane); beside a molecule, a line to an O is kept.
    assert molecule_from_graph(arrow).inchi == inchi_of("CC")
    methanol = MolGraph(
        [*both.atoms[:5], dataclasses.replace(both.atoms[5], symbol="O")], both.bonds
    )
    assert molecule_from_graph(methanol).inchi == inchi_of("CCCO.CO")


def test_unknown_atoms_give_up_or_go() -> None:
    unknown = chain([(0, 0, "*"), (30, 0, "*")], [(0, 1, "single")])
    reading = molecule_from_graph(unknown)
    assert (reading.inchi, reading.smiles, reading.valid, reading.confidence) == ("", "", False, 0)
    lone = molecule_from_graph(chain([(0, 0, "*"), (30, 0, "*")], []))
    assert lone.inchi == "" and not lone.valid and len(lone.repairs) == 2
    speck = molecule_from_graph(chain([(0, 0, "*"), (30, 0, "O")], []))
    assert speck.inchi == inchi_of("O") and speck.repairs == ("dropped unbonded unknown atom 0",)
    assert molecule_from_graph(MolGraph()).inchi == ""


def test_unbonded_neutral_atoms_are_stray_text_unless_alone() -> None:
    ethanol = [(0, 0, "C"), (30, 0, "C"), (60, 0, "O")]
    strays = [(200, 90, "C"), (250, 90, "N"), (300, 0, "CF3")]  # a speck, caption letters
    graph = chain([*ethanol, *strays], [(0, 1, "single"), (1, 2, "single")])
    reading = molecule_from_graph(graph)
    assert reading.inchi == inchi_of("CCO")
    assert reading.repairs == tuple(
        f"dropped unbonded {s} atom {i}" for i, s in ((3, "C"), (4, "N"), (5, "CF3"))
    )
    chloride = chain([*ethanol, (120, 0, "Cl")], [(0, 1, "single"), (1, 2, "single")])
    chloride = MolGraph(
        chloride.atoms[:3] + (dataclasses.replace(chloride.atoms[3], charge=-1),), chloride.bonds
    )
    assert molecule_from_graph(chloride).inchi == inchi_of("CCO.[Cl-]")  # an ion is drawn charged
    methane = molecule_from_graph(chain([(0, 0, "C"), (40, 0, "*")], []))
    assert methane.inchi == inchi_of("C")
    assert methane.repairs == ("dropped unbonded unknown atom 1",)
    assert molecule_from_graph(chain([(0, 0, "N")], [])).inchi == inchi_of("N")  # all there is
