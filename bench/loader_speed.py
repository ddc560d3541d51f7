"""Training DataLoader images/s alone (shard reads, augmentation, collation), no model.

    python bench/loader_speed.py --shards data/bench/shards-128
    python bench/loader_speed.py --shards data/gpu/shards --workers 0 1 2 --pin-memory

The loader must never be what training waits for: compare each row with the model's own rate
(bench/model_speed.py). The last column extrapolates the one-process rate to the 15 loader
processes a 16-core node can give a GPU, against the ~3,100 images/s one H100 trains at.
Settings run interleaved over ``--rounds``; each run times ``--batches`` batches (after one per
loader process, untimed) in a fresh process, whose peak RSS is reported with that of its largest
loader process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from rounds import in_fresh_process, interleaved, peak_rss_mb

H100_IMAGES_PER_S = 3100  # ResNet50 + plain LSTM, 224 px, bf16 (BENCHMARKS.md, GPU)
NODE_LOADER_PROCESSES = 15  # a 16-core node, one core left to the training process


def loader_rate(
    shards: Path, workers: int, pin_memory: bool, batches: int, batch: int
) -> tuple[float, float, float]:
    """(images/s, peak RSS MB of this process, of its largest loader process); run it in a fresh
    process (``in_fresh_process``), so that both peaks are this setting's alone."""
    from inchi_lightning.training.data import InChIDataModule

    datamodule = InChIDataModule(str(shards), batch_size=batch, num_workers=workers, augment=True)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    loader.pin_memory = pin_memory and workers > 0
    iterator = iter(loader)
    for _ in range(max(workers, 1)):  # untimed: one batch from each loader process, whose
        next(iterator)  # first batch pays its start-up (forking, first calls of the augmentation)
    start = time.perf_counter()
    images = sum(len(next(iterator)["image_ids"]) for _ in range(batches))
    rate = images / (time.perf_counter() - start)
    del iterator  # its loader processes are joined: RUSAGE_CHILDREN then counts them
    return rate, peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True, help="a preprocessed shard directory")
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--pin-memory", action="store_true", help="also time pinned batches")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    settings = [(w, False) for w in args.workers]
    settings += [(w, True) for w in args.workers if w > 0 and args.pin_memory]
    rates: dict[tuple[int, bool], list[float]] = {s: [] for s in settings}
    peaks: dict[tuple[int, bool], tuple[float, float]] = {s: (0.0, 0.0) for s in settings}
    for workers, pin in interleaved(settings, args.rounds):
        shards = Path(args.shards)
        rate, own, loaders = in_fresh_process(
            loader_rate, shards, workers, pin, args.batches, args.batch_size
        )
        rates[(workers, pin)].append(rate)
        peaks[(workers, pin)] = tuple(map(max, peaks[(workers, pin)], (own, loaders)))
    size = Path(args.shards).name
    print(
        f"\n`python bench/loader_speed.py {' '.join(sys.argv[1:])}` ({size}): median of "
        f"{args.rounds} rounds of {args.batches} batches of {args.batch_size}, "
        f"load {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| loader processes | pinned | images/s | per process | x15 processes vs one H100 "
        "| peak MB: main / each loader process |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for (workers, pin), values in rates.items():
        rate = statistics.median(values)
        per_process = rate / max(workers, 1)
        node = per_process * NODE_LOADER_PROCESSES / H100_IMAGES_PER_S
        pinned = "yes" if pin else "no"
        own, loaders = peaks[(workers, pin)]
        memory = f"{own:.0f} / {loaders:.0f}" if workers else f"{own:.0f}"
        print(f"| {workers} | {pinned} | {rate:.0f} | {per_process:.0f} | {node:.2f} | {memory} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
