"""The ``preprocess`` command: a raw labelled set into a shard directory, on Ray or processes."""

from __future__ import annotations

import argparse
import logging
import os

from inchi_lightning.cli.errors import user_error
from inchi_lightning.imaging import CleanParams
from inchi_lightning.prep.labels import (
    InputError,
    held_out_molecules,
)
from inchi_lightning.prep.preprocess import preprocess

CPU_KINDS = {"ray": "Ray CPUs", "processes": "worker processes"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning preprocess",
        description=(
            "Check the labels, clean the images on Ray (despeckle, sharpen, crop, turn "
            "landscape, resize, pad) and write a shard directory: vocab.json, manifest.json, "
            "rejects.csv and SPLIT/shard-NNNNN/{images.npy,index.parquet}. Reads the Kaggle "
            "BMS layout (train_labels.csv + train/a/b/c/<id>.png) or a flat folder "
            "(labels.csv + images/<id>.png). Run it again on the same output to resume."
        ),
        epilog="Ray keeps its session files under $RAY_TMPDIR/ray (default /tmp/ray).",
    )
    parser.add_argument("--input", required=True, metavar="RAW", help="the labelled image set")
    parser.add_argument(
        "--output", required=True, metavar="SHARDS", help="the shard directory to write"
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=256,
        metavar="PX",
        help="side of the square images (default 256)",
    )
    parser.add_argument(
        "--keep-portrait",
        action="store_true",
        help="keep drawings taller than wide as drawn (default: turn them to landscape, as the "
        "captioner's sets are; the graph recogniser reads patent text better upright)",
    )
    parser.add_argument(
        "--shard-size", type=int, default=1000, metavar="N", help="images per shard (default 1000)"
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of ids for validation (0.05)",
    )
    parser.add_argument(
        "--test-fraction", type=float, default=0.0, metavar="F", help="share of ids for testing (0)"
    )
    parser.add_argument(
        "--vocab",
        metavar="PATH",
        help="reuse this vocab.json (e.g. the training set's when preparing a test set); "
        "rows with other tokens are rejected",
    )
    parser.add_argument(
        "--held-out",
        action="append",
        default=[],
        metavar="SHARDS",
        help="reject molecules, stereo aside, that are in this shard directory's val or test "
        "split (so that a second training set holds none of them); may be given again",
    )
    parser.add_argument(
        "--address", help="join a running Ray cluster ('auto' or host:port) instead of a local Ray"
    )
    parser.add_argument(
        "--num-cpus",
        type=int,
        metavar="N",
        help="CPUs for the local Ray or the worker processes (default: all)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="run the tasks in local worker processes instead of Ray (a machine without Ray)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m inchi_lightning preprocess``: 0 on success, 2 with one line on user errors
    (``INCHI_LIGHTNING_DEBUG=1`` raises them instead, with their traceback)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        held_out = held_out_molecules(args.held_out)
        manifest = preprocess(
            args.input,
            args.output,
            clean_params=clean_params_of(args),
            shard_size=args.shard_size,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            vocab_path=args.vocab,
            address=args.address,
            num_cpus=args.num_cpus,
            processes=args.processes,
            held_out=held_out,
        )
    except InputError as error:
        return user_error(error)
    print(summary(manifest, args.output))
    return 0


def clean_params_of(args: argparse.Namespace) -> CleanParams:
    try:
        return CleanParams(image_size=args.image_size, turn_portrait=not args.keep_portrait)
    except ValueError as error:
        raise InputError(str(error)) from error


def summary(manifest: dict, output: str | os.PathLike) -> str:
    """A few lines for the terminal: rows, accepted per split, rejects by reason, speed."""
    splits = ", ".join(f"{name} {count}" for name, count in manifest["splits"].items() if count)
    reasons = ", ".join(f"{kind} {n}" for kind, n in manifest["rejected_by_reason"].items())
    run = manifest["run"]
    lines = [
        f"{manifest['input_rows']} rows: {manifest['accepted']} accepted ({splits}), "
        f"{manifest['rejected']} rejected" + (f" ({reasons})" if reasons else ""),
        f"cleaned {run['images_cleaned']} images at {run['images_per_second']:.0f} images/s "
        f"on {run['cpus']} {CPU_KINDS[run['backend']]} ({run['shards_written']} shards written, "
        f"{run['shards_resumed']} already done)",
        f"shards: {output}",
    ]
    return "\n".join(lines)
