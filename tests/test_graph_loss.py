"""The graph recogniser's targets and losses: CenterNet heatmaps and their focal loss."""

from __future__ import annotations

import math

import pytest
import torch

from inchi_lightning.network.graph_loss import centre_heatmap, focal_loss


def test_heatmap_peaks_at_each_points_cell() -> None:
    points = [torch.tensor([[5.0, 9.0], [30.5, 2.0]]), torch.zeros(0, 2)]
    heatmap = centre_heatmap(points, (16, 16), sigma=1.0)
    assert heatmap.shape == (2, 1, 16, 16)
    assert heatmap[0, 0, 2, 1] == 1 and heatmap[0, 0, 0, 7] == 1  # (row, column) = (y, x) // 4
    assert int(heatmap.eq(1).sum()) == 2 and heatmap[1].max() == 0
    assert heatmap[0, 0, 2, 2] == pytest.approx(math.exp(-0.5))  # one cell off: sigma 1


def test_focal_loss_prefers_the_matching_prediction() -> None:
    target = centre_heatmap([torch.tensor([[10.0, 10.0], [40.0, 20.0]])], (16, 16), sigma=1.0)
    matching = torch.where(target.eq(1), 6.0, -6.0)
    wrong = torch.where(target.roll(5, dims=3).eq(1), 6.0, -6.0)
    assert focal_loss(matching, target) < 0.01 < focal_loss(wrong, target)
    assert focal_loss(matching, target) < focal_loss(torch.zeros_like(target), target)
