"""String metrics for predicted InChIs: mean Levenshtein distance (the BMS score) and exact match.

Both keep sums, not means, as state (``dist_reduce_fx="sum"``), so that the value after a DDP
all-reduce is the mean over every process's samples, however unevenly they were split.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist
from torchmetrics import Metric


def _check_pairs(preds: Sequence[str], targets: Sequence[str]) -> None:
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} predictions for {len(targets)} targets")


class _MeanOverStrings(Metric):
    """A sum over string pairs and their count; ``compute`` is the mean (nan before updates)."""

    is_differentiable = False
    full_state_update = False
    total: torch.Tensor
    count: torch.Tensor

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def compute(self) -> torch.Tensor:
        return self.total / self.count  # true division: float


class LevenshteinDistance(_MeanOverStrings):
    """Mean edit distance (insertions, deletions, substitutions) between predictions and targets.

    ``update(preds, targets)`` takes equally long lists of strings; ``ValueError`` otherwise.
    """

    higher_is_better = False

    def update(self, preds: Sequence[str], targets: Sequence[str]) -> None:
        _check_pairs(preds, targets)
        distances = cpdist(preds, targets, scorer=Levenshtein.distance, workers=1)  # (N,)
        self.total += int(distances.sum())
        self.count += len(preds)


class ExactMatch(_MeanOverStrings):
    """Fraction of predictions equal to their target.

    ``update(preds, targets)`` takes equally long lists of strings; ``ValueError`` otherwise.
    """

    higher_is_better = True

    def update(self, preds: Sequence[str], targets: Sequence[str]) -> None:
        _check_pairs(preds, targets)
        self.total += sum(pred == target for pred, target in zip(preds, targets, strict=True))
        self.count += len(preds)
