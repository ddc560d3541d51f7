"""The graph recogniser's training targets and losses: what each drawing's annotation asks of
``GraphRecognizer``'s outputs (network/graph.py, whose coordinate and shape conventions hold
here too).

CenterNet's focal loss on the atom-centre heatmap; cross-entropy of the atom class and charge
and L1 of the sub-cell offset at each true centre; cross-entropy of the bond classifier over
every true bond in both orders and sampled unbonded pairs. Plain functions of tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inchi_lightning.network.graph import (
    STRIDE,
    GraphNetConfig,
    GraphRecognizer,
    bond_radius,
    candidate_pairs,
    gather_cells,
)


def centre_cells(points: torch.Tensor, size: tuple[int, int], stride: int = STRIDE) -> torch.Tensor:
    """(K, 2) input-pixel points → (K, 2) int64 (column, row) of their stride cells, clamped."""
    cells = torch.div(points, stride, rounding_mode="floor").long()
    height, width = size
    return torch.stack([cells[:, 0].clamp(0, width - 1), cells[:, 1].clamp(0, height - 1)], 1)


def centre_heatmap(
    points: Sequence[torch.Tensor], size: tuple[int, int], sigma: float, stride: int = STRIDE
) -> torch.Tensor:
    """CenterNet targets: per image (K_b, 2) input-pixel points → (B, 1, H, W) in [0, 1].

    Each point's cell is exactly 1; around it a Gaussian of ``sigma`` cells; overlaps take the
    maximum. ``size`` is the heatmap's (H, W).
    """
    height, width = size
    device = points[0].device if len(points) else None
    heatmap = torch.zeros(len(points), 1, height, width, device=device)
    rows = torch.arange(height, device=device, dtype=torch.float32)[None, :, None]
    columns = torch.arange(width, device=device, dtype=torch.float32)[None, None, :]
    for index, image_points in enumerate(points):
        if len(image_points) == 0:
            continue
        cells = centre_cells(image_points, size, stride).float()  # (K, 2)
        distance2 = (columns - cells[:, 0, None, None]) ** 2 + (rows - cells[:, 1, None, None]) ** 2
        heatmap[index, 0] = torch.exp(-distance2 / (2 * sigma**2)).amax(dim=0)  # (H, W)
    return heatmap


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss of (B, 1, H, W) logits, summed / number of centres.

    Centres are the cells where ``target`` is exactly 1; the Gaussian around them reduces the
    penalty for near misses by (1 - target) ** beta.
    """
    # float32 throughout: under bf16 autocast (1 - p) ** alpha underflows for confident cells.
    logits, target = logits.float(), target.float()
    centre = target.eq(1).float()
    probability = torch.sigmoid(logits)
    # logsigmoid rather than log(sigmoid): no -inf where a confident logit saturates.
    positive = (1 - probability) ** alpha * F.logsigmoid(logits) * centre
    negative = (1 - target) ** beta * probability**alpha * F.logsigmoid(-logits) * (1 - centre)
    return -(positive.sum() + negative.sum()) / centre.sum().clamp(min=1)


def bond_loss(
    logits: torch.Tensor, classes: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy of (N, C) pair logits against (N,) classes; 0 (with a graph) when N = 0."""
    if logits.size(0) == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, classes, weight=weight)


@dataclass
class GraphTargets:
    """Per-image annotations, one list entry per image of the batch.

    Args:
        points: (K, 2) float atom centres in input pixels (x, y).
        atoms: (K,) int64 atom classes.
        charges: (K,) int64 charge classes.
        bonds: (E, 3) int64 rows (i, j, class), the class read from atom i to atom j.
    """

    points: list[torch.Tensor]
    atoms: list[torch.Tensor]
    charges: list[torch.Tensor]
    bonds: list[torch.Tensor]

    def to(self, device: torch.device | str) -> GraphTargets:
        def move(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
            return [tensor.to(device) for tensor in tensors]

        return GraphTargets(
            move(self.points), move(self.atoms), move(self.charges), move(self.bonds)
        )


@dataclass
class GraphLossConfig:
    """Loss weights and the bond classifier's training pairs.

    Args:
        heatmap: weight of the centre focal loss.
        atom: weight of the atom class cross-entropy.
        charge: weight of the charge cross-entropy.
        offset: weight of the sub-cell offset L1 loss (with ``GraphNetConfig.offsets``).
        bond: weight of the pair class cross-entropy.
        max_negatives: per image, at most this many unbonded candidate pairs (each read both
            ways) join the true bonds as class 0.
        jitter: atom positions for the bond classifier move by up to this many pixels, so that
            it learns from positions as loose as decoded ones.
        none_weight: cross-entropy weight of class 0 against the bond classes' 1.
    """

    heatmap: float = 1.0
    atom: float = 1.0
    charge: float = 1.0
    offset: float = 1.0
    bond: float = 1.0
    max_negatives: int = 64
    jitter: float = 1.0
    none_weight: float = 1.0


class GraphLoss:
    """The recogniser's loss terms from its outputs and a batch's ``GraphTargets``.

    Atom classes, charges and offsets are read at the true centres' cells only. Bond pairs are
    every true bond in both orders plus sampled unbonded candidate pairs (``candidate_pairs``
    within ``max_bond_length`` median neighbour distances), at jittered true positions.
    """

    def __init__(self, net: GraphNetConfig, config: GraphLossConfig | None = None) -> None:
        self.net = net
        self.config = config or GraphLossConfig()

    def __call__(
        self, model: GraphRecognizer, outputs: dict[str, torch.Tensor], targets: GraphTargets
    ) -> dict[str, torch.Tensor]:
        """Returns ``heatmap``, ``atom``, ``charge``, ``offset`` (0 without offsets), ``bond``
        and their weighted sum ``total``, each a scalar tensor."""
        heatmap_logits = outputs["heatmap_logits"]
        size = (heatmap_logits.size(2), heatmap_logits.size(3))
        target = centre_heatmap(targets.points, size, self.net.heatmap_sigma)
        losses = {"heatmap": focal_loss(heatmap_logits, target.to(heatmap_logits.device))}
        losses.update(self.atom_losses(outputs, targets, size))
        losses["bond"] = self.bond_term(model, outputs["features"], targets)
        weights = self.config
        losses["total"] = (
            weights.heatmap * losses["heatmap"]
            + weights.atom * losses["atom"]
            + weights.charge * losses["charge"]
            + weights.offset * losses["offset"]
            + weights.bond * losses["bond"]
        )
        return losses

    def atom_losses(
        self, outputs: dict[str, torch.Tensor], targets: GraphTargets, size: tuple[int, int]
    ) -> dict[str, torch.Tensor]:
        points = torch.cat(targets.points).float()  # (K, 2) over the whole batch
        batch = torch.cat(
            [torch.full((len(p),), b, dtype=torch.long) for b, p in enumerate(targets.points)]
        ).to(points.device)
        zero = outputs["heatmap_logits"].sum() * 0.0
        if points.size(0) == 0:
            return {"atom": zero, "charge": zero, "offset": zero}
        cells = centre_cells(points, size)
        losses = {
            "atom": F.cross_entropy(
                gather_cells(outputs["atom_logits"], batch, cells), torch.cat(targets.atoms)
            ),
            "charge": F.cross_entropy(
                gather_cells(outputs["charge_logits"], batch, cells), torch.cat(targets.charges)
            ),
            "offset": zero,
        }
        if "offsets" in outputs:
            inside = (points / STRIDE - cells).clamp(0, 1)  # (K, 2)
            losses["offset"] = F.l1_loss(gather_cells(outputs["offsets"], batch, cells), inside)
        return losses

    def bond_term(
        self, model: GraphRecognizer, features: torch.Tensor, targets: GraphTargets
    ) -> torch.Tensor:
        rows, classes = [], []
        for index, (points, bonds) in enumerate(zip(targets.points, targets.bonds, strict=True)):
            pairs, pair_classes = self.training_pairs(points.float(), bonds, model)
            moved = points.float() + (torch.rand_like(points.float()) * 2 - 1) * self.config.jitter
            batch = torch.full((len(pairs), 1), float(index), device=points.device)
            rows.append(torch.cat([batch, moved[pairs[:, 0]], moved[pairs[:, 1]]], dim=1))
            classes.append(pair_classes)
        logits = model.bond_logits(features, torch.cat(rows).to(features.device))
        weight = torch.ones(self.net.num_bond_classes, device=features.device)
        weight[0] = self.config.none_weight
        return bond_loss(logits, torch.cat(classes).to(features.device), weight)

    def training_pairs(
        self, points: torch.Tensor, bonds: torch.Tensor, model: GraphRecognizer
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One image's ordered (N, 2) training pairs and their (N,) classes."""
        reverse = model.reversed_bond_classes.to(bonds.device)
        bonds = bonds.long().reshape(-1, 3)
        first, second, kinds = bonds[:, 0], bonds[:, 1], bonds[:, 2]
        pairs = [torch.stack([first, second], 1), torch.stack([second, first], 1)]
        classes = [kinds, reverse[kinds]]
        candidates = candidate_pairs(points, bond_radius(points, self.net.max_bond_length))
        count = points.size(0)
        bonded = torch.zeros(count * count, dtype=torch.bool, device=points.device)
        bonded[first * count + second] = True
        bonded[second * count + first] = True
        unbonded = candidates[~bonded[candidates[:, 0] * count + candidates[:, 1]]]
        chosen = torch.randperm(len(unbonded), device=points.device)[: self.config.max_negatives]
        unbonded = unbonded[chosen]
        pairs += [unbonded, unbonded.flip(1)]
        classes += [torch.zeros(2 * len(unbonded), dtype=torch.long, device=points.device)]
        return torch.cat(pairs), torch.cat(classes)
