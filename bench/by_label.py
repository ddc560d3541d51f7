"""Exact match by drawn label: for each atom label of a synth set (a text group such as C4H9 or
(CH2)3, or an element), how many drawings that show it each reading got right. One Markdown
row per label, the most missed first in the first reading; several readings side by side.

    python bench/by_label.py ~/runs/heldout190 ~/runs/read/shipped_h190.csv \\
        ~/runs/read/hard26v_h190.csv --style patent --seed 190 --n 1114 --patent-fraction 0.5

The labels come from the set's ``train_annotations.jsonl`` (what synth drew, text groups as
their class); ``--style`` keeps the drawings of one style (``synth.image_styles``: the synth
command's ``--seed``, ``--n`` and ``--patent-fraction``). Scores the ``final`` column, as
``evaluate`` reports.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

from inchi_lightning.prep.styles import STYLE_KINDS
from inchi_lightning.prep.synth import image_styles


def drawn_labels(dataset: Path) -> dict[str, set[str]]:
    """Each image's atom labels, as synth annotated them."""
    labels = {}
    with (dataset / "train_annotations.jsonl").open() as handle:
        for line in handle:
            record = json.loads(line)
            labels[record["image_id"]] = {atom[2] for atom in record["graph"]["atoms"]}
    return labels


def right_by_label(
    path: Path, labels: dict[str, set[str]], images: set[str]
) -> tuple[Counter, Counter]:
    """(drawings, right readings) per label among ``images`` of one evaluate CSV."""
    shown, right = Counter(), Counter()
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["image_id"] not in images:
                continue
            for label in labels[row["image_id"]]:
                shown[label] += 1
                right[label] += row["final"] == row["truth"]
    return shown, right


def table(readings: list[Path], labels: dict[str, set[str]], images: set[str], top: int) -> str:
    counts = [right_by_label(path, labels, images) for path in readings]
    shown, first_right = counts[0]
    order = sorted(shown, key=lambda label: (first_right[label] - shown[label], label))
    lines = [
        "| label | drawings | " + " | ".join(path.name for path in readings) + " |",
        "| --- | ---: |" + " ---: |" * len(readings),
    ]
    for label in order[:top]:
        cells = [str(right[label]) for _, right in counts]
        lines.append(f"| {label} | {shown[label]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="the synth set the readings read")
    parser.add_argument("csvs", type=Path, nargs="+", help="evaluate --out files of that set")
    parser.add_argument("--style", choices=STYLE_KINDS, help="only the drawings of this style")
    parser.add_argument("--seed", type=int, help="the synth command's --seed (with --style)")
    parser.add_argument("--n", type=int, help="the synth command's --n (with --style)")
    parser.add_argument("--patent-fraction", type=float, help="the synth command's (with --style)")
    parser.add_argument("--top", type=int, default=20, help="rows to print (default: 20)")
    args = parser.parse_args(argv)
    labels = drawn_labels(args.dataset)
    images = set(labels)
    if args.style:
        if None in (args.seed, args.n, args.patent_fraction):
            parser.error("--style needs the synth command's --seed, --n and --patent-fraction")
        styles = image_styles(args.seed, args.n, args.patent_fraction)
        images = {image for image in images if styles.get(image) == args.style}
    print(table(args.csvs, labels, images, args.top))


if __name__ == "__main__":
    main()
