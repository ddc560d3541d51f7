"""Scoring a submission CSV against labels with the competition's metric."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist


def read_pairs(path: str | Path) -> dict[str, str]:
    """``image_id -> InChI`` from a CSV with those two columns.

    Raises:
        ValueError: a column is missing.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "InChI"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} has no column {', '.join(sorted(missing))}")
        return {row["image_id"]: row["InChI"] for row in reader}


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning score",
        description="Score a submission (image_id,InChI) against labels with mean Levenshtein "
        "distance, the BMS competition's metric, and the exact-match rate.",
    )
    parser.add_argument("--submission", required=True, help="predicted image_id,InChI CSV")
    parser.add_argument("--labels", required=True, help="true image_id,InChI CSV")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scores = score_submission(args.submission, args.labels)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{scores['images']} images ({scores['missing']} without a prediction): "
        f"mean Levenshtein {scores['levenshtein']:.2f}, exact match {scores['exact_match']:.1%}"
    )
    return 0
