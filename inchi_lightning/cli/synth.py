"""The ``synth`` command: draw a synthetic dataset in the Kaggle BMS layout."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from inchi_lightning.cli.errors import user_error
from inchi_lightning.prep.synth import LABELS_NAME, synthesise


def build_parser() -> argparse.ArgumentParser:
    """The ``synth`` command's options."""
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning synth",
        description=(
            "Draw a synthetic BMS-style dataset with RDKit: skeletal formulas in random\n"
            "styles, then binarised, specked, broken and sometimes turned 90 degrees like\n"
            "the scans of Kaggle's 'BMS Molecular Translation' set. With --patent-fraction,\n"
            "that share of the images is drawn like clean patent drawings instead: longer\n"
            "bonds, larger fonts, groups written as text (OCH3, COOH, Ph, ...), benzene\n"
            "rings as circles in some, compound numbers beside some, upright, no specks."
        ),
        epilog=(
            "writes:\n"
            "  DIR/train_labels.csv                 image_id,InChI\n"
            "  DIR/train/a/b/c/<image_id>.png       1-bit PNG, black ink on white\n"
            "  DIR/train_annotations.jsonl          each image's atoms and bonds in its pixels\n\n"
            "The same --seed gives the same files whatever --num-workers. Interrupted?\n"
            "Run the same command again: finished images are kept.\n\n"
            "example:\n"
            "  python -m inchi_lightning synth --out data/raw --n 10000\n"
            "  python -m inchi_lightning synth --out data/mixed --n 10000 --patent-fraction 0.3"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="dataset folder; created if missing, resumed if an earlier run was interrupted",
    )
    parser.add_argument(
        "--n",
        type=int,
        required=True,
        metavar="N",
        help="number of images, one per distinct molecule (no InChI twice)",
    )
    parser.add_argument(
        "--smiles",
        type=Path,
        metavar="FILE",
        help="molecules to draw: one SMILES per line (a name may follow), or a CSV with a "
        "'smiles' or an 'InChI' column (another dataset's train_labels.csv draws its "
        "molecules again); invalid lines are skipped and counted (default: the ~16,000 "
        "molecules shipped with RDKit). Molecules made by BRICS recombination make up N "
        "when there are fewer",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="choice of molecules, image ids, drawing styles and damage (default: 0)",
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        default=None,
        metavar="W",
        help="processes drawing in parallel (default: one per CPU core; 0 or 1: no pool)",
    )
    parser.add_argument(
        "--patent-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="share of images, 0 to 1, drawn like clean patent drawings instead of BMS scans "
        "(default: 0, BMS scans only); a resumed folder must use the same F",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Run ``synth`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    User errors print one ``error: ...`` line to stderr and return 2 (set
    INCHI_LIGHTNING_DEBUG=1 for the traceback).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error argparse has already printed (2)
        return exc.code if isinstance(exc.code, int) else 2
    _configure_logging()
    try:
        report = synthesise(
            args.out,
            n=args.n,
            seed=args.seed,
            smiles_file=args.smiles,
            num_workers=args.num_workers,
            progress=not args.no_progress,
            patent_fraction=args.patent_fraction,
        )
    except (FileNotFoundError, ValueError) as exc:
        return user_error(exc)
    print(
        f"{report.out_dir / LABELS_NAME}: {report.rows} images "
        f"({report.written} drawn now, {report.skipped_existing} already there, "
        f"{report.from_brics} molecules made by BRICS)"
    )
    return 0
