"""Write the molecules a model misread as a labels CSV that ``synth --smiles`` draws again:
hard-example mining (CHANGELOG.md, 0.13.0 and later).

    python -m inchi_lightning evaluate --ckpt_path CKPT --images data/fresh/shards/train \\
        --limit 6000 --out read.csv
    python scripts/missed_molecules.py read.csv --out misses.csv
    python -m inchi_lightning synth --out data/hard --n N --seed 1 --smiles misses.csv

A fine-tune on fresh drawings of the molecules a model misses (each drawn again with new seeds,
so that it learns the molecule, not the picture) gained on the held-out draws where sets of
misses chosen by hand (iodides, metal salts, organic ions) had all lost. ``evaluate``'s
per-sample CSVs say for each image its truth and its final reading; a
molecule is missed when the two differ. Each InChI is written once, however many of the CSVs
miss it, so ``synth`` draws each missed molecule once per seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

READING_COLUMNS = ("image_id", "truth", "final")


def load_readings(path: Path) -> pd.DataFrame:
    """One ``evaluate`` per-sample CSV, as strings; ValueError if it lacks ``READING_COLUMNS``."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [column for column in READING_COLUMNS if column not in frame.columns]
    if absent:
        raise ValueError(f"{path}: not an evaluate per-sample CSV (no {', '.join(absent)})")
    return frame


def missed(readings: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``evaluate`` readings whose final reading is not the truth, as image_id and
    InChI, one row per InChI (the first image that missed it)."""
    misses = pd.concat(
        [frame[frame["final"] != frame["truth"]] for frame in readings], ignore_index=True
    ).drop_duplicates("truth")
    return misses.rename(columns={"truth": "InChI"})[["image_id", "InChI"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("readings", nargs="+", type=Path, help="evaluate's per-sample CSVs")
    parser.add_argument("--out", type=Path, required=True, help="the labels CSV to write")
    args = parser.parse_args(argv)
    try:
        readings = [load_readings(path) for path in args.readings]
    except (OSError, ValueError) as exc:
        print(f"missed_molecules: {exc}", file=sys.stderr)
        return 2
    misses = missed(readings)
    read = sum(len(frame) for frame in readings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    misses.to_csv(args.out, index=False)
    print(f"{len(misses)} missed molecules of {read} images read: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
