"""A graph recogniser's checkpoint on its synthetic held-out split, BMS and patent styles apart,
and on real patent drawings: exact match with and without stereo, mean Levenshtein.

    python bench/graph_eval.py --ckpt_path ~/runs/graph-long/checkpoints/last.ckpt \
        --shards ~/runs/graph-long/shards --seed 0 --n 30000 --patent-fraction 0.5 \
        [--files ~/runs/graph-long/shards-raw]

The held-out images are read as the shards stored them (cleaned once, at the trained side) or,
with ``--files`` (the synth output the shards were made from), from their image files as
``evaluate`` and ``predict`` read a user's: cleaned at the trained side, then read again at the
sides the scale vote asks for.

A synth image's style follows from its id (``synth.image_styles``): ``--seed``, ``--n`` and
``--patent-fraction`` are the synth command's. "No stereo" compares the InChIs without their
/b, /t, /m and /s layers, the measure of the issue's stereo-free reference.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from inchi_lightning.chem import inchi_without_stereo
from inchi_lightning.evaluation.labelled_set import (
    LabelledImages,
    load_reader,
    predict_labelled,
    read_labelled_rows,
    read_samples,
)
from inchi_lightning.evaluation.scoring import Sample
from inchi_lightning.prep.synth import image_styles
from inchi_lightning.shards import ShardSet


def row(name: str, pairs: list[tuple[str, str]]) -> str:
    exact = statistics.mean(p == t for p, t in pairs)
    flat = statistics.mean(inchi_without_stereo(p) == inchi_without_stereo(t) for p, t in pairs)
    distance = statistics.mean(Levenshtein.distance(p, t) for p, t in pairs)
    return f"{name:<22}{len(pairs):>7}{exact:>9.1%}{flat:>12.1%}{distance:>14.2f}"


def read_from_files(ckpt_path: str, split_dir: Path, files: Path) -> list[Sample]:
    """The images of a shard split read from the image files they were cleaned from."""
    held_out = {image_id for _, image_id, _ in ShardSet(split_dir)}
    layout, rows = read_labelled_rows(files)
    rows = [row for row in rows if row.image_id in held_out]
    model = load_reader(ckpt_path)
    images = LabelledImages(layout, rows, model.clean_params, getattr(model, "reading_sizes", ()))
    return read_samples(model, images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--shards", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--patent-fraction", type=float, default=0.5)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/uspto-300"))
    parser.add_argument(
        "--files", type=Path, help="the synth output to read the split's image files from"
    )
    args = parser.parse_args()
    style = image_styles(args.seed, args.n, args.patent_fraction)
    by_style = defaultdict(list)
    split_dir = args.shards / args.split
    if args.files:
        samples = read_from_files(args.ckpt_path, split_dir, args.files)
    else:
        samples = predict_labelled(args.ckpt_path, split_dir)
    for sample in samples:
        by_style[style.get(sample.image_id, "unknown")].append(
            (sample.predicted("final"), sample.truth)
        )
    print(f"{'set':<22}{'images':>7}{'exact':>9}{'no stereo':>12}{'Levenshtein':>14}")
    everything = [pair for pairs in by_style.values() for pair in pairs]
    print(row(f"synthetic {args.split}", everything))
    for kind, pairs in sorted(by_style.items()):
        print(row(f"  {kind} style", pairs))
    if (args.real / "labels.csv").is_file() or (args.real / "train_labels.csv").is_file():
        samples = predict_labelled(args.ckpt_path, args.real, progress=False)
        print(row(args.real.name, [(s.predicted("final"), s.truth) for s in samples]))


if __name__ == "__main__":
    main()
