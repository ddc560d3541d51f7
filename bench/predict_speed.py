"""Prediction images/s on this machine's cores: image cleaning in DataLoader processes, the
model in the main process, as ``predict`` and ``evaluate`` run them.

    python bench/predict_speed.py --ckpt checkpoints/cpu-60min/best.ckpt \
        --images ../shared/data/uspto-300/images --workers 0 1 2 --beam-widths 1 4

Each setting (loader processes x beam width) runs ``--batches`` batches after an untimed first
one (process start-up, the first cleaning), in interleaved rounds. Two more rows say where the
time goes: cleaning alone (the loader with no model) and decoding alone (the same images,
cleaned once beforehand, held in memory).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from rounds import interleaved
from torch.utils.data import DataLoader

from inchi_lightning.evaluation.labelled_set import load_reader
from inchi_lightning.training.data import IMAGE_SUFFIXES, ImageFolderDataset, collate_images


def loader(paths: list[Path], model, workers: int, batch: int) -> DataLoader:
    dataset = ImageFolderDataset(paths, model.clean_params)
    return DataLoader(dataset, batch_size=batch, num_workers=workers, collate_fn=collate_images)


def timed(batches, step, count: int) -> float:
    """images/s over ``count`` batches after the first (untimed) one."""
    iterator = iter(batches)
    step(next(iterator))
    start, images = time.perf_counter(), 0
    for batch in itertools.islice(iterator, count):
        step(batch)
        images += len(batch["image_ids"])
    return images / (time.perf_counter() - start)


def decode_step(model, beam_width: int):
    model.hparams.beam_width = beam_width

    def step(batch) -> None:
        with torch.inference_mode():
            model.decode(batch["images"])

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--images", required=True, type=Path, help="a folder of images")
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--beam-widths", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    needed = (args.batches + 1) * args.batch_size
    if len(paths) < needed:
        raise SystemExit(f"error: {needed} images needed, {args.images} has {len(paths)}")
    model = load_reader(args.ckpt)
    held = list(loader(paths[:needed], model, 0, args.batch_size))  # cleaned once, for decode only
    settings = [("predict", w, k) for w in args.workers for k in args.beam_widths]
    settings += [("clean only", w, 0) for w in args.workers]
    settings += [("decode only", 0, k) for k in args.beam_widths]
    rates: dict[tuple, list[float]] = {s: [] for s in settings}
    for kind, workers, k in interleaved(settings, args.rounds):
        if kind == "decode only":
            rate = timed(held, decode_step(model, k), args.batches)
        else:
            step = decode_step(model, k) if kind == "predict" else (lambda batch: None)
            rate = timed(loader(paths, model, workers, args.batch_size), step, args.batches)
        rates[(kind, workers, k)].append(rate)

    print(
        f"\n`python bench/predict_speed.py {' '.join(sys.argv[1:])}`: median of {args.rounds} "
        f"rounds of {args.batches} batches of {args.batch_size}, {torch.get_num_threads()} torch "
        f"threads, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}\n"
    )
    print("| what | loader processes | beam width | images/s |")
    print("| --- | ---: | ---: | ---: |")
    for kind, workers, k in settings:
        width = str(k) if k else ""
        median = statistics.median(rates[(kind, workers, k)])
        print(f"| {kind} | {workers if kind != 'decode only' else ''} | {width} | {median:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
