"""A labelled set read at every side the graph recogniser may read an image at, and the scale
votes replayed from those readings, to choose how the sides vote without reading again.

    python bench/side_readings.py read --images ~/runs/heldout190 --out h190_sides.csv
    python bench/side_readings.py vote h190_sides.csv h290_sides.csv uspto_sides.csv

``read`` writes one row per image and side (the trained side and every one of
``GraphReader.reading_sizes``): the InChI read there, its confidence, the graph's median bond
length and the truth. ``vote`` prints, per file, how many images each voting rule reads right:
the trained side alone, every side alone, the rule ``read_molecules`` uses, and its variants
(how many sides vote, whether the trained side always votes, how far towards the side the
bonds ask for the voters are centred); and how many images at least one side reads right, the
most any rule over these readings could reach.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

COLUMNS = ["image_id", "truth", "side", "inchi", "smiles", "confidence", "bond_length"]


def read(args: argparse.Namespace) -> None:
    from inchi_lightning.evaluation.labelled_set import (
        collate_labelled,
        labelled_images,
        load_reader,
    )
    from inchi_lightning.graph_chem import molecule_from_graph
    from inchi_lightning.shipped import require_shipped_model
    from inchi_lightning.training.graph_module import voting_bond_length

    model = load_reader(args.ckpt_path or require_shipped_model())
    sides = model.reading_sizes
    images = labelled_images(args.images, model.clean_params, args.limit, sides)
    loader = DataLoader(images, batch_size=args.batch_size, num_workers=args.num_workers,
                        collate_fn=collate_labelled)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f, torch.inference_mode():
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for batch in tqdm(loader, desc="reading", unit="batch"):
            by_side = {model.clean_params.image_size: batch["images"], **batch["rescaled"]}
            for side, pixels in by_side.items():
                turned = torch.rot90(pixels, args.quarter_turns, dims=(2, 3))
                for image_id, truth, graph in zip(
                    batch["image_ids"], batch["inchis"], model.read(turned), strict=True
                ):
                    reading = molecule_from_graph(graph)
                    length = voting_bond_length(graph)
                    writer.writerow([image_id, truth, side, reading.inchi, reading.smiles,
                                     f"{reading.confidence:.4f}", f"{length:.3f}"])  # fmt: skip
    print(f"wrote {args.out}: {len(images)} images x {1 + len(sides)} sides")


@dataclass(frozen=True)
class SideReading:
    inchi: str
    smiles: str
    confidence: float
    bond_length: float


def load(path: Path) -> tuple[dict[str, str], dict[str, dict[int, SideReading]]]:
    truths: dict[str, str] = {}
    readings: dict[str, dict[int, SideReading]] = defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            truths[row["image_id"]] = row["truth"]
            readings[row["image_id"]][int(row["side"])] = SideReading(
                row["inchi"], row["smiles"], float(row["confidence"]), float(row["bond_length"])
            )
    return truths, readings


@dataclass(frozen=True)
class Rule:
    """A way for one image's side readings to vote: ``voters`` sides nearest the one the
    trained side's bonds ask for (centred ``pull`` of the geometric way there), the trained side
    added if ``with_trained``, each reading weighted ``closeness ** a * confidence ** b``
    (``read_molecules``: 5 sides, pull 1, a = b = 1); with ``turned`` the same sides read
    turned (``read --quarter-turns``) vote too, or alone (``turned_only``)."""

    voters: int = 5
    with_trained: bool = False
    pull: float = 1.0
    a: float = 1.0
    b: float = 1.0
    turned: bool = False
    turned_only: bool = False

    def choose(self, upright: dict[int, SideReading], turned: dict[int, SideReading] | None,
               target: float, trained: int) -> str:  # fmt: skip
        from inchi_lightning.training.graph_module import scale_vote, voting_sides

        length = upright[trained].bond_length
        pulled = length * (target / length) ** self.pull if length else target
        others = sorted(set(upright) - {trained})
        sides = voting_sides(length, pulled, [trained, *others], self.voters)
        if self.with_trained and trained not in sides:
            sides.append(trained)
        sets = [turned] if self.turned_only else [upright, turned] if self.turned else [upright]
        chosen = [readings[side] for readings in sets for side in sides]
        # closeness ** a is the closeness of bond lengths and target raised to a.
        return scale_vote(
            [r.inchi for r in chosen],
            [r.confidence**self.b for r in chosen],
            [r.bond_length**self.a for r in chosen],
            target**self.a,
        )


RULES = {
    **{
        f"{n} sides{' + the trained side' if t else ''}{', centred half-way' if p < 1 else ''}": (
            Rule(voters=n, with_trained=t, pull=p)
        )
        for p in (1.0, 0.5)
        for n in (1, 3, 5, 7)
        for t in (False, True)
    },
    **{
        f"{n} sides, closeness^{a:g} x confidence^{b:g}": Rule(voters=n, a=a, b=b)
        for n in (5, 7)
        for a in (0, 1, 2, 4)
        for b in (0, 1, 2, 4)
    },
}
TURNED_RULES = {
    "5 sides turned alone": Rule(turned_only=True),
    "5 sides, upright and turned": Rule(turned=True),
}


def vote(args: argparse.Namespace) -> None:
    from inchi_lightning.evaluation.labelled_set import load_reader
    from inchi_lightning.shipped import require_shipped_model

    model = load_reader(args.ckpt_path or require_shipped_model())
    target, trained = model.hparams.target_bond_length, model.clean_params.image_size
    if args.turned and len(args.turned) != len(args.files):
        raise SystemExit("error: give one --turned file for each file")
    for number, path in enumerate(args.files):
        truths, upright = load(path)
        turned = load(args.turned[number])[1] if args.turned else None
        rules = {**RULES, **(TURNED_RULES if turned else {})}
        print(f"\n{path}: {len(truths)} images\n")
        print("| rule | right |\n| --- | ---: |")
        for side in sorted(next(iter(upright.values()))):
            right = sum(upright[i][side].inchi == t for i, t in truths.items())
            print(f"| side {side} alone | {right} |")
        for name, rule in rules.items():
            right = sum(
                rule.choose(upright[i], turned and turned[i], target, trained) == t
                for i, t in truths.items()
            )
            print(f"| {name} | {right} |")
        for name, sets in (("any side", [upright]), ("any side, either way up", [upright, turned])):
            if None not in sets:
                right = sum(
                    any(r.inchi == t for readings in sets for r in readings[i].values())
                    for i, t in truths.items()
                )
                print(f"| {name} right | {right} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    reading = commands.add_parser("read", help="read a labelled set at every side")
    reading.add_argument("--images", type=Path, required=True)
    reading.add_argument("--out", type=Path, required=True)
    reading.add_argument("--ckpt_path", help="a graph recogniser (default: the shipped one)")
    reading.add_argument("--limit", type=int)
    reading.add_argument(
        "--quarter-turns", type=int, default=0, help="read every image turned this many times"
    )
    reading.add_argument("--batch-size", type=int, default=16)
    reading.add_argument("--num-workers", type=int, default=1)
    voting = commands.add_parser("vote", help="replay voting rules over read files")
    voting.add_argument("files", type=Path, nargs="+")
    voting.add_argument("--ckpt_path", help="the model that read them (default: shipped)")
    voting.add_argument("--turned", type=Path, nargs="+", help="the same sets read turned")
    args = parser.parse_args(argv)
    read(args) if args.command == "read" else vote(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
