"""Exact match and Levenshtein of ``evaluate``'s per-sample CSVs on a synth set, BMS and patent
styles apart, one Markdown row per CSV: several readings of one set side by side, unread again.

    python -m inchi_lightning synth --out ~/runs/heldout190 --n 1114 --seed 190 \\
        --smiles ~/runs/valfiles/train_labels.csv --patent-fraction 0.5
    python -m inchi_lightning evaluate --images ~/runs/heldout190 --out shipped.csv
    python bench/by_style.py shipped.csv other.csv --seed 190 --n 1114 --patent-fraction 0.5

A synth image's style follows from its id (``synth.image_styles``): ``--seed``, ``--n`` and
``--patent-fraction`` are the synth command's. Scores the ``final`` column (after RDKit's
post-processing), as ``evaluate`` reports.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

from inchi_lightning.prep.styles import STYLE_KINDS
from inchi_lightning.prep.synth import image_styles


def cell(rows: list[dict[str, str]]) -> str:
    right = sum(row["final"] == row["truth"] for row in rows)
    return f"{right} / {len(rows)} ({right / len(rows):.2%})" if rows else "-"


def table_row(path: Path, styles: dict[str, str]) -> str:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    unknown = [row["image_id"] for row in rows if row["image_id"] not in styles]
    if unknown:
        raise SystemExit(
            f"error: {path}: {len(unknown)} ids not in this synth plan, e.g. {unknown[0]}"
        )
    by_style = defaultdict(list)
    for row in rows:
        by_style[styles[row["image_id"]]].append(row)
    distance = statistics.mean(int(row["levenshtein_final"]) for row in rows)
    cells = [cell(rows), *(cell(by_style[style]) for style in STYLE_KINDS), f"{distance:.2f}"]
    return f"| {path.name} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csvs", type=Path, nargs="+", help="evaluate --out files of one synth set")
    parser.add_argument("--seed", type=int, required=True, help="the synth command's --seed")
    parser.add_argument("--n", type=int, required=True, help="the synth command's --n")
    parser.add_argument("--patent-fraction", type=float, required=True)
    args = parser.parse_args(argv)
    styles = image_styles(args.seed, args.n, args.patent_fraction)
    print("| reading | all | BMS style | patent style | Levenshtein |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for path in args.csvs:
        print(table_row(path, styles))


if __name__ == "__main__":
    main()
