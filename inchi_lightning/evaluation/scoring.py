"""Scoring against labels with the competition's metric (mean Levenshtein distance).

``score``: a submission CSV against a labels CSV. ``evaluate``: a checkpoint on a labelled image
set (BMS layout or flat ``labels.csv`` + ``images/``), images cleaned as ``predict`` cleans
them, with a row per RDKit post-processing step and a per-sample CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from inchi_lightning.labels_file import read_pairs

if TYPE_CHECKING:
    from inchi_lightning.chemistry.inchi import PostProcessed


def score_submission(submission: str | Path, labels: str | Path) -> dict[str, float]:
    """Mean Levenshtein distance and exact-match rate over every labelled image.

    A labelled image missing from the submission counts as an empty prediction.
    """
    predicted, truth = read_pairs(submission), read_pairs(labels)
    ids = sorted(truth)
    if not ids:
        raise ValueError(f"{labels} holds no labels")
    preds = [predicted.get(i, "") for i in ids]
    targets = [truth[i] for i in ids]
    distances = cpdist(preds, targets, scorer=Levenshtein.distance, workers=1)
    exact = sum(p == t for p, t in zip(preds, targets, strict=True))
    return {
        "images": len(ids),
        "missing": sum(i not in predicted for i in ids),
        "levenshtein": float(distances.mean()),
        "exact_match": exact / len(ids),
    }


# ---- evaluate: a checkpoint on a labelled image set ------------------------------------------

# The post-processing steps, each adding to the one before: PostProcessed attribute → table row.
STEPS = {
    "raw": "raw best candidate",
    "chosen": "+ first valid candidate",
    "final": "+ RDKit normalisation",
}


@dataclasses.dataclass(frozen=True)
class Sample:
    """One labelled image's prediction; ``error`` says why an unreadable image has none.

    ``confidence`` is the reading's, 0-1 (the graph recogniser's: its least certain atom or
    bond; the captioner's: the chosen candidate's mean token probability); NaN for an
    unreadable image.
    """

    image_id: str
    truth: str
    prediction: PostProcessed
    error: str = ""
    confidence: float = math.nan

    def predicted(self, step: str) -> str:
        return getattr(self.prediction, step)

    def valid(self, step: str) -> bool:
        return self.prediction.raw_valid if step == "raw" else self.prediction.valid


@dataclasses.dataclass(frozen=True)
class StepScore:
    """The metrics of one post-processing step over every sample."""

    step: str
    levenshtein: float
    exact_match: float
    valid: float


def score_steps(samples: Sequence[Sample], steps: Sequence[str]) -> list[StepScore]:
    """Mean Levenshtein distance, exact-match rate and RDKit-valid rate after each step."""
    truths = [s.truth for s in samples]
    scores = []
    for step in steps:
        predictions = [s.predicted(step) for s in samples]
        distances = cpdist(predictions, truths, scorer=Levenshtein.distance, workers=1)
        exact = sum(p == t for p, t in zip(predictions, truths, strict=True))
        valid = sum(s.valid(step) for s in samples)
        n = len(samples)
        scores.append(StepScore(step, float(distances.mean()), exact / n, valid / n))
    return scores


def write_samples(samples: Sequence[Sample], path: str | os.PathLike) -> Path:
    """One row per image: truth, the prediction after each step, distances, validity and
    the model's confidence."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([
            "image_id", "truth", "raw", "chosen", "final", "chosen_rank",
            "levenshtein_raw", "levenshtein_chosen", "levenshtein_final",
            "raw_valid", "final_valid", "error", "confidence",
        ])  # fmt: skip
        for s in samples:
            p = s.prediction
            distances = [Levenshtein.distance(s.predicted(step), s.truth) for step in STEPS]
            writer.writerow([
                s.image_id, s.truth, p.raw, p.chosen, p.final, p.chosen_index, *distances,
                int(p.raw_valid), int(p.valid), s.error, f"{s.confidence:.4g}",
            ])  # fmt: skip
    return path
