"""How synthetic drawings differ from real ones in line width: each image's stroke width against
its bond length, per set (BMS and patent styles apart, then the real images).

    python bench/drawing_gap.py --synth ~/runs/graph-long/raw --seed 0 --n 30000 \
        --patent-fraction 0.5 --real ../shared/data/uspto-300

A stroke's width is the ink's area over half its outline's length (exact for long straight
lines). A synthetic image's bond length is its annotation's median; a real image's is that of
the atoms the graph recogniser (``--ckpt_path``, the shipped model by default) reads in it at
384 px, mapped back to the image's pixels: the molecule need not be read right, only its atoms
found. The ratio is what survives cleaning: ``clean()`` scales lines and bonds alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch

from inchi_lightning.evaluation.labelled_set import load_reader, read_labelled_rows
from inchi_lightning.imaging import clean_with_transform
from inchi_lightning.molgraph import MolGraph
from inchi_lightning.prep.annotations import ANNOTATIONS_NAME
from inchi_lightning.prep.synth import image_path, image_styles
from inchi_lightning.shipped import require_shipped_model

READING_SIDE = 384  # fine enough to place the atoms of the largest uspto-300 molecules


def stroke_width(gray: np.ndarray) -> float:
    ink = (gray < 128).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(contour, True) for contour in contours)
    return 2.0 * float(ink.sum()) / max(outline, 1.0)


def synthetic_ratios(raw: Path, seed: int, n: int, fraction: float, every: int) -> dict:
    kinds = image_styles(seed, n, fraction)
    ratios = defaultdict(list)
    with open(raw / ANNOTATIONS_NAME) as lines:
        for number, line in enumerate(lines):
            record = json.loads(line)
            if number % every or not record["graph"]:
                continue
            graph = MolGraph.from_dict(record["graph"])
            gray = cv2.imread(str(image_path(raw, record["image_id"])), cv2.IMREAD_GRAYSCALE)
            if graph.bonds and gray is not None:
                ratios[f"{kinds.get(record['image_id'], 'unknown')} style"].append(
                    stroke_width(gray) / graph.bond_length
                )
    return ratios


def real_ratios(images: Path, ckpt_path: Path) -> list[float]:
    model = load_reader(ckpt_path)
    params = dataclasses.replace(model.clean_params, image_size=READING_SIDE)
    layout, rows = read_labelled_rows(images)
    ratios = []
    for row in rows:
        gray = cv2.imread(str(layout.image_path(row.image_id)), cv2.IMREAD_GRAYSCALE)
        cleaned, matrix = clean_with_transform(gray, params)
        graph = model.read(torch.as_tensor(cleaned)[None, None])[0]
        if len(graph.bonds) >= 3:
            scale = abs(np.linalg.det(matrix[:, :2])) ** 0.5  # cleaned pixels per image pixel
            ratios.append(stroke_width(gray) / (graph.bond_length / scale))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth", type=Path, required=True, help="a synth output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--patent-fraction", type=float, default=0.5)
    parser.add_argument("--every", type=int, default=20, help="measure every k-th drawing")
    parser.add_argument("--real", type=Path, default=Path("../shared/data/uspto-300"))
    parser.add_argument("--ckpt_path", type=Path, default=None)
    args = parser.parse_args()
    sets = synthetic_ratios(args.synth, args.seed, args.n, args.patent_fraction, args.every)
    if args.real.is_dir():  # e.g. --real none: synthetic sets only
        sets[args.real.name] = real_ratios(args.real, args.ckpt_path or require_shipped_model())
    print(f"{'set':<16}{'images':>7}  stroke / bond:{'p10':>7}{'median':>8}{'p90':>7}")
    for name, ratios in sorted(sets.items()):
        p10, p50, p90 = np.percentile(ratios, [10, 50, 90])
        print(f"{name:<16}{len(ratios):>7}{'':>16}{p10:>7.3f}{p50:>8.3f}{p90:>7.3f}")


if __name__ == "__main__":
    main()
