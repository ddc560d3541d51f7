"""Preprocessing speed: clean() alone on one core, then the whole Ray job on 1 and 2 CPUs.

    python bench/preprocess.py                       # 800 synthetic drawings, 256 px
    python bench/preprocess.py --n 2000 --repeats 5

Rows of the table:

- ``clean()``: the cleaning function alone on decoded images in memory, one core.
- ``read_gray + clean()``: the same with PNG decoding, one core: the work of one Ray task.
- ``preprocess, k Ray CPUs``: ``preprocess()`` into a fresh directory with a local Ray of
  ``k`` CPUs, started once per ``k`` and not timed (its start-up is printed apart). images/s is
  the rate of the image phase (Ray tasks reading, cleaning and writing shards); seconds is the
  whole call (label checks with RDKit, planning, shards, vocabulary, manifest).

Every figure is the median of ``--repeats`` runs. The synthetic set is drawn on first use into
``--raw`` and reused afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_rate(work: Callable[[], int], repeats: int) -> tuple[float, float]:
    """Median (items per second, seconds) of ``repeats`` timed calls of ``work`` (-> items)."""
    rates, seconds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        items = work()
        elapsed = time.perf_counter() - started
        rates.append(items / elapsed)
        seconds.append(elapsed)
    return statistics.median(rates), statistics.median(seconds)


def bench_clean(paths: list[Path], image_size: int, repeats: int) -> dict[str, tuple]:
    """clean() alone and read_gray + clean() on one core."""
    import cv2

    from inchi_lightning.imaging import CleanParams, clean, read_gray

    cv2.setNumThreads(1)  # as in a Ray task
    params = CleanParams(image_size=image_size)
    grays = [read_gray(path) for path in paths]

    def clean_all() -> int:
        for gray in grays:
            clean(gray, params)
        return len(grays)

    def read_and_clean_all() -> int:
        for path in paths:
            clean(read_gray(path), params)
        return len(paths)

    return {
        "clean(), 1 core": median_rate(clean_all, repeats),
        "read_gray + clean(), 1 core": median_rate(read_and_clean_all, repeats),
    }


def bench_ray(
    raw: Path, cpus: int, image_size: int, shard_size: int, repeats: int
) -> tuple[float, float, float]:
    """Median (images/s of the image phase, seconds of the call) and Ray's start-up time."""
    import ray

    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.prep.preprocess import preprocess

    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - started
    rates, seconds = [], []
    try:
        for _ in range(repeats):
            out = Path(tempfile.mkdtemp(prefix="bench-shards-"))
            try:
                started = time.perf_counter()
                manifest = preprocess(
                    raw,
                    out,
                    clean_params=CleanParams(image_size=image_size),
                    shard_size=shard_size,
                    progress=False,
                )
                seconds.append(time.perf_counter() - started)
                rates.append(manifest["run"]["images_per_second"])
            finally:
                shutil.rmtree(out)
    finally:
        ray.shutdown()
    return statistics.median(rates), statistics.median(seconds), startup


def table(rows: list[tuple[str, float, float, str, float]]) -> str:
    """The rows as text; ``load`` is the 1-minute load average when the row was measured
    (other processes on the machine compete for its cores)."""
    lines = [f"{'':30} {'images/s':>9} {'seconds':>8} {'vs 1 CPU':>9} {'load':>5}"]
    lines += [
        f"{name:30} {rate:9.0f} {sec:8.2f} {ratio:>9} {load:5.1f}"
        for name, rate, sec, ratio, load in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=800, help="synthetic drawings (default 800)")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--shard-size", type=int, default=100, help="images per Ray task")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "bench-preprocess-raw")
    args = parser.parse_args()

    from inchi_lightning.prep.synth import synthesise

    synthesise(args.raw, n=args.n, seed=0, num_workers=2, progress=False)
    paths = sorted(args.raw.glob("train/*/*/*/*.png"))
    single = bench_clean(paths, args.image_size, args.repeats)
    rows = [(name, rate, sec, "", os.getloadavg()[0]) for name, (rate, sec) in single.items()]
    one = bench_ray(args.raw, 1, args.image_size, args.shard_size, args.repeats)
    rows.append(("preprocess, 1 Ray CPU", one[0], one[1], "1.00", os.getloadavg()[0]))
    two = bench_ray(args.raw, 2, args.image_size, args.shard_size, args.repeats)
    ratio = f"{two[0] / one[0]:.2f}"
    rows.append(("preprocess, 2 Ray CPUs", two[0], two[1], ratio, os.getloadavg()[0]))
    print(
        f"{len(paths)} synthetic drawings -> {args.image_size} px, {args.shard_size} per shard, "
        f"median of {args.repeats}, {os.cpu_count()} CPUs"
    )
    print(table(rows))
    print(f"Ray start-up (not timed above): {one[2]:.1f} s with 1 CPU, {two[2]:.1f} s with 2")


if __name__ == "__main__":
    main()
