"""How far a reading's confidence can be trusted: exact match of the readings a model is surest
of, from ``evaluate``'s per-sample CSVs, one Markdown table per CSV.

    python -m inchi_lightning evaluate --images ../shared/data/uspto-300 --out uspto.csv
    python bench/confidence.py uspto.csv

Rows keep the most confident readings first: at each share of the images, the confidence a
reading needs to be kept, and how many of those kept are exact (``final`` against ``truth``).
A user who checks by hand what falls below the threshold reads the rest at that exact match.
Unreadable images (no confidence) count as kept last.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

SHARES = (0.5, 0.75, 0.9, 0.95, 1.0)


def confident_first(rows: list[dict[str, str]]) -> list[tuple[float, bool]]:
    """(confidence, exact) per row, the most confident first, NaN (unreadable) last."""
    pairs = [(float(row["confidence"]), row["final"] == row["truth"]) for row in rows]
    return sorted(pairs, key=lambda pair: math.inf if math.isnan(pair[0]) else -pair[0])


def coverage_rows(
    pairs: list[tuple[float, bool]], shares: tuple[float, ...] = SHARES
) -> list[tuple[float, int, float, int]]:
    """(share, images kept, the least confidence kept, exact among them) for each share."""
    rows = []
    for share in shares:
        kept = pairs[: max(1, round(share * len(pairs)))]
        rows.append((share, len(kept), kept[-1][0], sum(exact for _, exact in kept)))
    return rows


def table(path: Path) -> str:
    if not path.is_file():
        raise SystemExit(f"error: no file {path}")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "confidence" not in rows[0]:
        raise SystemExit(f"error: {path} has no confidence column (an evaluate --out CSV?)")
    lines = [
        f"{path} ({len(rows)} images)",
        "",
        "| most confident | images | confidence at least | exact | exact match |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for share, kept, least, exact in coverage_rows(confident_first(rows)):
        lines.append(f"| {share:.0%} | {kept} | {least:.3g} | {exact} | {exact / kept:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csvs", type=Path, nargs="+", help="evaluate --out files")
    args = parser.parse_args(argv)
    for index, path in enumerate(args.csvs):
        print(("\n" if index else "") + table(path))


if __name__ == "__main__":
    main()
