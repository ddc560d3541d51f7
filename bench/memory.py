"""Memory under load: preprocess 5k / 10k / 20k images, then predict over 5k images.

    python bench/memory.py                      # draws 20,000 images once into --cache
    python bench/memory.py --sizes 2000 4000 --predict-n 1000 --cache /tmp/mem-small

Every command runs as a child process, as a user runs it; a sampler sums the resident memory
(RSS) of that process and all its descendants (Ray's GCS, raylet and workers; DataLoader
workers) every 0.2 s. RSS counts a page shared by several processes (libraries, Ray's object
store) once per process, so the total overstates what the machine gives up; PSS, which splits
shared pages between their users, is reported beside it.

- preprocess: the same drawings, subsets of the first N rows (a labels file of N rows beside a
  link to the image tree), 2 Ray CPUs, the CLI's defaults (256 px, 1000 images per shard).
- predict: the shipped model reading N images through ``Reader``, as ``predict`` does, in a
  process that records its RSS after every batch, so that memory can be read against images
  done (1,000 / 2,500 / 5,000).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 2**20


def psutil_module():
    """psutil: installed with ``ray[default]``, and vendored inside Ray in any case."""
    import ray  # noqa: F401  (puts Ray's third-party packages, psutil among them, on the path)

    # isort: split
    import psutil

    return psutil


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS of ``pid``, RSS of ``pid`` and every descendant, PSS of the same), in bytes."""
    psutil = psutil_module()
    root = psutil.Process(pid)
    own, rss, pss = root.memory_info().rss, 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()  # reads smaps_rollup: PSS as well as RSS
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return own, rss, pss


def run_sampled(command: list[str], log: Path, env: dict | None = None) -> dict:
    """Run ``command`` to its end, sampling its process tree's memory every 0.2 s.

    Returns seconds and the peak driver RSS, total RSS and total PSS in MB.
    """
    peaks = {"driver": 0, "rss": 0, "pss": 0}
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env
        )
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    driver, rss, pss = tree_memory(process.pid)
                except Exception:  # the process ended between two looks
                    break
                peaks.update(
                    driver=max(peaks["driver"], driver),
                    rss=max(peaks["rss"], rss),
                    pss=max(peaks["pss"], pss),
                )
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({code}): see {log}")
    return {
        "seconds": time.perf_counter() - started,
        **{key: value / MB for key, value in peaks.items()},
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "inchi_lightning", *args]


# ---- data --------------------------------------------------------------------------------------


def drawings(cache: Path, n: int) -> Path:
    """``n`` synthetic drawings in the BMS layout under ``cache/raw``, drawn on first use."""
    raw = cache / "raw"
    labels = raw / "train_labels.csv"
    if not labels.is_file() or sum(1 for _ in labels.open()) - 1 < n:
        print(f"drawing {n} images into {raw} (once)", flush=True)
        subprocess.run(
            cli("synth", "--out", str(raw), "--n", str(n), "--num-workers", "2", "--no-progress"),
            cwd=ROOT,
            check=True,
        )
    return raw


def subset(raw: Path, n: int, folder: Path) -> Path:
    """A BMS-layout folder with the first ``n`` rows of ``raw``: a labels file and a link."""
    folder.mkdir(parents=True, exist_ok=True)
    with (raw / "train_labels.csv").open() as source:
        lines = [line for _, line in zip(range(n + 1), source, strict=False)]
    (folder / "train_labels.csv").write_text("".join(lines))
    if not (folder / "train").exists():
        (folder / "train").symlink_to(raw / "train")
    return folder


def image_folder(raw: Path, n: int, folder: Path) -> Path:
    """A folder of links to the first ``n`` images of ``raw``, for predict."""
    folder.mkdir(parents=True, exist_ok=True)
    with (raw / "train_labels.csv").open() as handle:
        ids = [row["image_id"] for _, row in zip(range(n), csv.DictReader(handle), strict=False)]
    for image_id in ids:
        link = folder / f"{image_id}.png"
        if not link.exists():
            link.symlink_to(raw.joinpath("train", *image_id[:3], f"{image_id}.png"))
    return folder


# ---- the two measurements ----------------------------------------------------------------------


def bench_preprocess(raw: Path, sizes: list[int], work: Path) -> list[dict]:
    rows = []
    for n in sizes:
        source = subset(raw, n, work / f"raw-{n}")
        out = work / f"shards-{n}"
        shutil.rmtree(out, ignore_errors=True)
        command = cli("preprocess", "--input", str(source), "--output", str(out), "--num-cpus", "2")
        result = run_sampled(command, work / f"preprocess-{n}.log")
        manifest = json.loads((out / "manifest.json").read_text())
        rows.append({"n": n, "accepted": manifest["accepted"], **result})
        print(f"preprocess {n}: {result}", flush=True)
        shutil.rmtree(out)  # 20k images at 256 px are 1.3 GB
    return rows


# Run in the predict process: ``Reader`` over the folder, one RSS record after every batch.
PROBED_READING = """
import json, os, sys, time
sys.path.insert(0, {bench!r})
from memory import MB, tree_memory
from inchi_lightning import Reader
from inchi_lightning.reading.inputs import image_files

paths, _ = image_files([{images!r}])
reader, started, done = Reader(batch_size=50), time.perf_counter(), 0
with open({probe!r}, "a") as probe:
    for reading in reader.iter_read(paths):
        done += 1
        if done % 50 == 0 or done == len(paths):
            rss = tree_memory(os.getpid())[1] / MB
            seconds = time.perf_counter() - started
            probe.write(json.dumps({{"images": done, "rss_mb": rss, "seconds": seconds}}) + "\\n")
"""


def bench_predict(raw: Path, n: int, work: Path) -> dict:
    """The shipped model reading ``n`` images through ``Reader``, as ``predict`` does."""
    images = image_folder(raw, n, work / f"predict-{n}")
    probe = work / "predict-probe.jsonl"
    probe.unlink(missing_ok=True)
    code = PROBED_READING.format(bench=str(ROOT / "bench"), images=str(images), probe=str(probe))
    result = run_sampled([sys.executable, "-c", code], work / "predict.log")
    records = [json.loads(line) for line in probe.read_text().splitlines()]
    marks = sorted({min(1000, n), min(2500, n), n})
    result["images_per_second"] = records[-1]["images"] / records[-1]["seconds"]
    result["rss_after"] = {
        mark: next(r["rss_mb"] for r in records if r["images"] >= mark) for mark in marks
    }
    print(f"predict {n}: {result}", flush=True)
    return result


# ---- report --------------------------------------------------------------------------------------


def table(preprocess_rows: list[dict], predict: dict | None, n_predict: int) -> str:
    lines = [
        "| N | accepted | seconds | peak RSS driver (MB) | peak RSS total (MB) "
        "| peak PSS total (MB) | total RSS MB per 1k images |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in preprocess_rows:
        lines.append(
            f"| {row['n']:,} | {row['accepted']:,} | {row['seconds']:.0f} | {row['driver']:.0f} "
            f"| {row['rss']:.0f} | {row['pss']:.0f} | {row['rss'] / row['n'] * 1000:.1f} |"
        )
    if predict:
        after = ", ".join(f"{k:,}: {v:.0f}" for k, v in predict["rss_after"].items())
        lines += [
            "",
            f"predict over {n_predict:,} images: {predict['seconds']:.0f} s, peak RSS driver "
            f"{predict['driver']:.0f} MB, total {predict['rss']:.0f} MB (PSS "
            f"{predict['pss']:.0f}), {predict['images_per_second']:.1f} images/s once "
            f"loaded; RSS (MB) after images: {after}",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench" / "memory")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--predict-n", type=int, default=5000)
    parser.add_argument("--skip-preprocess", action="store_true")
    args = parser.parse_args()
    raw = drawings(args.cache, max([*args.sizes, args.predict_n]))
    work = args.cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    rows = [] if args.skip_preprocess else bench_preprocess(raw, args.sizes, work)
    predict = bench_predict(raw, args.predict_n, work) if args.predict_n else None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')} load average {load}\n")
    print(table(rows, predict, args.predict_n))


if __name__ == "__main__":
    main()
