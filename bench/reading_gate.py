"""How sure a reading must be before the graph recogniser stops reading an image again.

    python bench/reading_gate.py [--sets DIR ...] [--precision fp32|bf16] [--out CSV]

Reads every labelled image of the real development sets (uspto-300 and real-dev's uob, uspto
and clef by default) once at the trained side and at every side the vote may use
(``GraphImageReader.side_readings``), then replays ``GraphImageReader.read``'s three steps over
those readings for a grid of ``VoteGate`` bounds: a reading at least ``confidence`` sure, RDKit
valid, with its median bond within ``bond ratio`` of the trained length, stands; otherwise the
side its bonds ask for is read, and if that is unsure too, the voting sides vote. Prints, per
gate, the exact matches over all sets and the work it costs: images read at more than one side,
and the pixels read per image in units of one trained-side image. The first row reads the
trained side only, the last votes on every image. ``--out`` keeps the per-side readings.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from tqdm import tqdm

from inchi_lightning.evaluation.labelled_set import read_labelled_rows
from inchi_lightning.reading.graph_reader import GraphImageReader, SideReading
from inchi_lightning.reading.inputs import gray_image
from inchi_lightning.reading.reader import Reader
from inchi_lightning.reading.vote import VoteGate

DEV_SETS = [
    "../shared/data/uspto-300",
    "../shared/data/real-dev/uob",
    "../shared/data/real-dev/uspto",
    "../shared/data/real-dev/clef",
]
CONFIDENCES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
BOND_RATIOS = (1.1, 1.2, 1.3, 1.5)
BATCH = 16

# One image: its truth, its voting sides (nearest the wanted one first), its readings by side.
Measured = tuple[str, list[int], dict[int, SideReading]]


def measure(reader: GraphImageReader, sets: list[str]) -> list[Measured]:
    """Every labelled image of ``sets`` read at the trained side and all its voting sides."""
    rows = []
    for folder in sets:
        layout, labelled = read_labelled_rows(folder)
        rows += [(layout.image_path(r.image_id), r.inchi) for r in labelled]
    measured = []
    for start in tqdm(range(0, len(rows), BATCH), desc="reading", unit="batch"):
        batch = rows[start : start + BATCH]
        grays = [gray_image(path) for path, _ in batch]
        for (_, truth), read in zip(batch, reader.side_readings(grays), strict=True):
            measured.append((truth, *read) if isinstance(read, tuple) else (truth, [], {}))
    return measured


def replay(reader: GraphImageReader, gate: VoteGate, image: Measured) -> tuple[bool, list]:
    """Whether ``read`` with ``gate`` reads ``image`` right (``choose`` over its readings at
    every side), and the sides ``read`` reads for it."""
    truth, voters, by_side = image
    if not by_side:
        return False, []
    reader.gate = gate
    first = by_side[reader.side]
    if not reader.unsure(first):
        sides = [reader.side]
    elif not reader.unsure(by_side.get(voters[0], first)):
        sides = [reader.side, voters[0]]
    else:
        sides = [reader.side, *voters]
    return reader.choose(voters, by_side).molecule.inchi == truth, sorted(set(sides))


def print_gates(reader: GraphImageReader, measured: list[Measured]) -> None:
    total = len(measured)
    print("| confidence >= | bond ratio <= | exact | read again | pixels per image |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    first_only = sum(m[2] and m[2][reader.side].molecule.inchi == m[0] for m in measured)
    print(f"| trained side only | | {first_only} | 0.0% | 1.00 |")
    gates = [VoteGate("auto", c, r) for c in CONFIDENCES for r in BOND_RATIOS]
    gates.append(VoteGate("always"))
    for gate in gates:
        exact = again = pixels = 0
        for image in measured:
            right, sides = replay(reader, gate, image)
            exact += right
            again += len(sides) > 1
            pixels += sum((side / reader.side) ** 2 for side in sides)
        bounds = (
            "every image | " if gate.mode == "always" else f"{gate.confidence} | {gate.bond_ratio}"
        )
        print(f"| {bounds} | {exact} | {again / total:.1%} | {pixels / total:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=DEV_SETS, help="labelled image folders")
    parser.add_argument("--ckpt_path", default=None, help="default: the shipped model")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--out", type=Path, help="per-side readings CSV")
    args = parser.parse_args(argv)
    reader = Reader(args.ckpt_path, precision=args.precision).model
    if not isinstance(reader, GraphImageReader):
        raise SystemExit("error: the gate is the graph recogniser's; this is a captioner")
    measured = measure(reader, args.sets)
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            header = ["image", "side", "voters", "right", "confidence", "bond", "valid", "inchi"]
            writer.writerow(header)
            for number, (truth, voters, by_side) in enumerate(measured):
                sides = " ".join(map(str, voters))
                for side, r in by_side.items():
                    m = r.molecule
                    row = [number, side, sides, m.inchi == truth, f"{m.confidence:.4f}"]
                    writer.writerow([*row, f"{r.bond_length:.2f}", m.valid, m.inchi])
    print_gates(reader, measured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
