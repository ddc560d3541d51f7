"""Training DataLoader images/s alone (shard reads, augmentation, collation), no model.

    python bench/loader_speed.py --shards data/bench/shards-128
    python bench/loader_speed.py --shards data/gpu/shards --workers 0 1 2 --pin-memory

The loader must never be what training waits for: compare each row with the model's own rate
(bench/model_speed.py). The last column extrapolates the one-process rate to the 15 loader
processes a 16-core node can give a GPU, against the ~3,100 images/s one H100 trains at.
Settings run interleaved over ``--rounds``; each run times ``--batches`` batches after one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from rounds import interleaved

H100_IMAGES_PER_S = 3100  # ResNet50 + plain LSTM, 224 px, bf16 (issue 6's figure)
NODE_LOADER_PROCESSES = 15  # a 16-core node, one core left to the training process


def loader_rate(shards: Path, workers: int, pin_memory: bool, batches: int, batch: int) -> float:
    from inchi_lightning.data import InChIDataModule

    datamodule = InChIDataModule(str(shards), batch_size=batch, num_workers=workers, augment=True)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    loader.pin_memory = pin_memory and workers > 0
    iterator = iter(loader)
    next(iterator)  # worker start-up is not timed
    start = time.perf_counter()
    images = sum(len(next(iterator)["image_ids"]) for _ in range(batches))
    return images / (time.perf_counter() - start)


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
    for workers, pin in interleaved(settings, args.rounds):
        rate = loader_rate(Path(args.shards), workers, pin, args.batches, args.batch_size)
        rates[(workers, pin)].append(rate)
    size = Path(args.shards).name
    print(
        f"\n`python bench/loader_speed.py {' '.join(sys.argv[1:])}` ({size}): median of "
        f"{args.rounds} rounds of {args.batches} batches of {args.batch_size}, "
        f"load {os.getloadavg()[0]:.1f}\n"
    )
    print("| loader processes | pinned | images/s | per process | x15 processes vs one H100 |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for (workers, pin), values in rates.items():
        rate = statistics.median(values)
        per_process = rate / max(workers, 1)
        node = per_process * NODE_LOADER_PROCESSES / H100_IMAGES_PER_S
        pinned = "yes" if pin else "no"
        print(f"| {workers} | {pinned} | {rate:.0f} | {per_process:.0f} | {node:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
