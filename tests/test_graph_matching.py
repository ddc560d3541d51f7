"""graph_matching.py: predicted atoms and bonds matched to the true ones by position."""

from __future__ import annotations

from inchi_lightning.chemistry.molgraph import GraphAtom, GraphBond, MolGraph
from inchi_lightning.training.graph_matching import matched_counts


def ethanol(dx: float = 0.0) -> MolGraph:
    atoms = [GraphAtom(10 + dx, 10, "C"), GraphAtom(30 + dx, 10, "C"), GraphAtom(40 + dx, 27, "O")]
    return MolGraph(atoms, [GraphBond(0, 1, "single"), GraphBond(1, 2, "single")])


def test_matching_counts_atoms_and_bonds_by_position_class_and_kind():
    truth = ethanol()
    assert matched_counts(ethanol(dx=2.0), truth) == {
        "atom_tp": 3, "atom_pred": 3, "atom_true": 3,
        "bond_tp": 2, "bond_pred": 2, "bond_true": 2,
    }  # fmt: skip
    far = matched_counts(ethanol(dx=15.0), truth)  # beyond half a bond: nothing matches
    assert (far["atom_tp"], far["bond_tp"]) == (0, 0)
    wrong = MolGraph(
        [GraphAtom(10, 10, "C"), GraphAtom(30, 10, "C"), GraphAtom(40, 27, "N")],
        [GraphBond(0, 1, "double"), GraphBond(1, 2, "single")],
    )
    counts = matched_counts(wrong, truth)
    assert (counts["atom_tp"], counts["bond_tp"]) == (2, 1)
