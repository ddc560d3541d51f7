"""The ``score`` and ``evaluate`` commands: a submission or a checkpoint against labels."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from inchi_lightning.cli.errors import user_error
from inchi_lightning.cli.options import add_reading_options, positive_int, reader_settings
from inchi_lightning.evaluation.scoring import (
    STEPS,
    Sample,
    StepScore,
    score_steps,
    score_submission,
    write_samples,
)


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
        return user_error(exc)
    print(
        f"{scores['images']} images ({scores['missing']} without a prediction): "
        f"mean Levenshtein {scores['levenshtein']:.2f}, exact match {scores['exact_match']:.1%}"
    )
    return 0


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


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning evaluate",
        description="Evaluate a checkpoint on a labelled image set (BMS layout: "
        "train_labels.csv + train/a/b/c/<id>.png, or flat: labels.csv + images/<id>.png). "
        "Images are read as predict reads them. Prints mean Levenshtein distance, "
        "exact-match rate and the share of RDKit-valid InChIs after each post-processing step "
        "(raw best candidate, + first candidate RDKit reads, + RDKit normalisation) and writes "
        "one row per image to a CSV.",
    )
    parser.add_argument(
        "--images",
        required=True,
        help="labelled image set (either layout), or a split of a shard directory "
        "(SHARDS/val: cleaned already, so it must match the checkpoint's clean settings)",
    )
    parser.add_argument(
        "--no-rdkit", action="store_true", help="no post-processing: report the raw row only"
    )
    parser.add_argument("--out", default="per_sample.csv", help="per-sample CSV to write")
    add_reading_options(parser)
    parser.add_argument("--limit", type=positive_int, help="only the first N labelled rows")
    return parser


def evaluate_main(argv: list[str] | None = None) -> int:
    args = build_evaluate_parser().parse_args(argv)
    # Imported here: torch costs seconds that `score` does not need.
    from inchi_lightning.evaluation.labelled_set import predict_labelled

    try:
        samples = predict_labelled(
            args.ckpt_path,
            args.images,
            rdkit=not args.no_rdkit,
            limit=args.limit,
            **reader_settings(args),
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
