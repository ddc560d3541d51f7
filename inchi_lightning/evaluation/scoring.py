"""Scoring against labels with the competition's metric (mean Levenshtein distance).

``score``: a submission CSV against a labels CSV. ``evaluate``: a checkpoint on a labelled image
set (BMS layout or flat ``labels.csv`` + ``images/``), images cleaned as ``predict`` cleans
them, with a row per RDKit post-processing step and a per-sample CSV.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from inchi_lightning.cli import user_error

if TYPE_CHECKING:
    from inchi_lightning.chem import PostProcessed


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


def build_score_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning score",
        description="Score a submission (image_id,InChI) against labels with mean Levenshtein "
        "distance, the BMS competition's metric, and the exact-match rate.",
    )
    parser.add_argument("--submission", required=True, help="predicted image_id,InChI CSV")
    parser.add_argument("--labels", required=True, help="true image_id,InChI CSV")
    return parser


def score_main(argv: list[str] | None = None) -> int:
    args = build_score_parser().parse_args(argv)
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


# ---- evaluate: a checkpoint on a labelled image set ------------------------------------------

# The post-processing steps, each adding to the one before: PostProcessed attribute → table row.
STEPS = {
    "raw": "raw best candidate",
    "chosen": "+ first valid candidate",
    "final": "+ RDKit normalisation",
}


@dataclasses.dataclass(frozen=True)
class Sample:
    """One labelled image's prediction; ``error`` says why an unreadable image has none."""

    image_id: str
    truth: str
    prediction: PostProcessed
    error: str = ""

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
    """One row per image: truth, the prediction after each step, distances and validity."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([
            "image_id", "truth", "raw", "chosen", "final", "chosen_rank",
            "levenshtein_raw", "levenshtein_chosen", "levenshtein_final",
            "raw_valid", "final_valid", "error",
        ])  # fmt: skip
        for s in samples:
            p = s.prediction
            distances = [Levenshtein.distance(s.predicted(step), s.truth) for step in STEPS]
            writer.writerow([
                s.image_id, s.truth, p.raw, p.chosen, p.final, p.chosen_index, *distances,
                int(p.raw_valid), int(p.valid), s.error,
            ])  # fmt: skip
    return path


def format_table(scores: Sequence[StepScore]) -> str:
    lines = [f"{'step':<26}{'mean Levenshtein':>18}{'exact match':>13}{'valid InChI':>13}"]
    lines += [
        f"{STEPS[s.step]:<26}{s.levenshtein:>18.2f}{s.exact_match:>13.1%}{s.valid:>13.1%}"
        for s in scores
    ]
    return "\n".join(lines)


def unreadable_warning(samples: Sequence[Sample], shown: int = 10) -> str | None:
    unreadable = [s for s in samples if s.error]
    if not unreadable:
        return None
    listed = ", ".join(f"{s.image_id} ({s.error})" for s in unreadable[:shown])
    more = f", and {len(unreadable) - shown} more" if len(unreadable) > shown else ""
    return (
        f"warning: {len(unreadable)} unreadable images count as empty predictions: {listed}{more}"
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning evaluate",
        description="Evaluate a checkpoint on a labelled image set (BMS layout: "
        "train_labels.csv + train/a/b/c/<id>.png, or flat: labels.csv + images/<id>.png). "
        "Images are cleaned as predict cleans them. Prints mean Levenshtein distance, "
        "exact-match rate and the share of RDKit-valid InChIs after each post-processing step "
        "(raw best candidate, + first candidate RDKit reads, + RDKit normalisation) and writes "
        "one row per image to a CSV.",
    )
    parser.add_argument("--ckpt_path", "--ckpt-path", required=True, help="model checkpoint")
    parser.add_argument(
        "--images",
        required=True,
        help="labelled image set (either layout), or a split of a shard directory "
        "(SHARDS/val: cleaned already, so it must match the checkpoint's clean settings)",
    )
    parser.add_argument(
        "--beam-width", type=positive_int, help="candidates per image (default: checkpoint's)"
    )
    parser.add_argument(
        "--no-rdkit", action="store_true", help="no post-processing: report the raw row only"
    )
    parser.add_argument("--out", default="per_sample.csv", help="per-sample CSV to write")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--num-workers", type=int, default=2, help="image-cleaning processes")
    parser.add_argument("--limit", type=positive_int, help="only the first N labelled rows")
    return parser


def evaluate_main(argv: list[str] | None = None) -> int:
    args = build_evaluate_parser().parse_args(argv)
    # Imported here: torch and Lightning cost seconds that `score` does not need.
    from inchi_lightning.labelled_set import predict_labelled

    try:
        samples = predict_labelled(
            args.ckpt_path,
            args.images,
            beam_width=args.beam_width,
            rdkit=not args.no_rdkit,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            limit=args.limit,
        )
        path = write_samples(samples, args.out)
    except (OSError, ValueError) as exc:
        return user_error(exc)
    warning = unreadable_warning(samples)
    if warning:
        print(warning, file=sys.stderr)
    steps = ["raw"] if args.no_rdkit else list(STEPS)
    print(f"{len(samples)} images from {args.images}")
    print(format_table(score_steps(samples, steps)))
    print(f"per-sample results: {path}")
    return 0
