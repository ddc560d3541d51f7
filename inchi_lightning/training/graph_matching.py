"""Predicted graphs matched to true ones by position: the atom and bond true positives behind
validation's precision and recall (``GraphModule``)."""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment

from inchi_lightning.chemistry.molgraph import MolGraph

MATCH_RADIUS = 0.5  # a predicted atom matches a true one within this share of a bond length

# The scale of a drawing without bonds, in pixels.
LONE_ATOMS_BOND_LENGTH = 8.0


def matched_counts(predicted: MolGraph, truth: MolGraph) -> dict[str, int]:
    """True positives and totals of atoms and bonds, predicted atoms assigned to true ones by
    position (Hungarian, within ``MATCH_RADIUS`` bond lengths); a matched atom of the wrong
    class, or a bond of the wrong kind, is no true positive."""
    counts = {"atom_tp": 0, "atom_pred": len(predicted.atoms), "atom_true": len(truth.atoms)}
    counts |= {"bond_tp": 0, "bond_pred": len(predicted.bonds), "bond_true": len(truth.bonds)}
    if not predicted.atoms or not truth.atoms:
        return counts
    p, t = torch.as_tensor(predicted.points), torch.as_tensor(truth.points)
    distance = torch.cdist(p, t)
    rows, cols = linear_sum_assignment(distance.numpy())
    # A drawing of lone atoms has no bond to scale by: a few pixels instead.
    radius = MATCH_RADIUS * (truth.bond_length or LONE_ATOMS_BOND_LENGTH)
    match = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if distance[r, c] <= radius}
    counts["atom_tp"] = sum(
        predicted.atoms[r].symbol == truth.atoms[c].symbol
        and predicted.atoms[r].charge == truth.atoms[c].charge
        for r, c in match.items()
    )
    true_bonds = {_bond_key(b.begin, b.end, b.kind) for b in truth.bonds}
    counts["bond_tp"] = sum(
        b.begin in match
        and b.end in match
        and _bond_key(match[b.begin], match[b.end], b.kind) in true_bonds
        for b in predicted.bonds
    )
    return counts


def _bond_key(begin: int, end: int, kind: str) -> tuple:
    # Wedges and hashes have a direction; every other kind reads the same both ways.
    return (
        (begin, end, kind)
        if kind in ("wedge", "hash")
        else (min(begin, end), max(begin, end), kind)
    )
