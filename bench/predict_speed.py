"""Reading speed on this machine's cores: images/s of ``Reader`` by vote setting and precision,
and the API's time to its first reading.

    python bench/predict_speed.py [--images ../shared/data/uspto-300/images] [--n 96] \
        [--votes never auto always] [--precisions fp32 bf16] [--rounds 3]

Each setting reads the same ``--n`` images (decoding, cleaning, the network, RDKit: all that a
user waits for) once per round, in interleaved rounds, after an untimed warm-up batch; the
median of the rounds is printed. The first reading's time is measured in a fresh process:
``import inchi_lightning``, ``Reader()`` (the shipped model), one image read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch
from rounds import interleaved

from inchi_lightning.reading.inputs import IMAGE_SUFFIXES
from inchi_lightning.reading.reader import Reader


def first_reading_seconds(image: Path, ckpt: str | None) -> dict[str, float]:
    """Seconds to import the package, load the model and read one image, in a new process."""
    code = textwrap.dedent(f"""
        import time
        start = time.perf_counter()
        from inchi_lightning import Reader
        imported = time.perf_counter()
        reader = Reader({ckpt!r})
        loaded = time.perf_counter()
        reader.read([{str(image)!r}])
        read = time.perf_counter()
        print(imported - start, loaded - imported, read - loaded)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, loaded, read = (float(x) for x in done.stdout.split())
    return {"import": imported, "load": loaded, "first image": read}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt_path", help="default: the shipped model")
    parser.add_argument("--images", type=Path, default=Path("../shared/data/uspto-300/images"))
    parser.add_argument("--n", type=int, default=96, help="images read per setting and round")
    parser.add_argument("--votes", nargs="+", default=["never", "auto", "always"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = paths[: args.n]
    readers = {
        (vote, precision): Reader(args.ckpt_path, vote=vote, precision=precision)
        for vote in args.votes
        for precision in args.precisions
    }
    for reader in readers.values():
        reader.read(paths[: reader.batch_size])  # warm-up: first calls allocate and tune
    rates: dict[tuple[str, str], list[float]] = {setting: [] for setting in readers}
    for setting in interleaved(list(readers), args.rounds):
        start = time.perf_counter()
        readers[setting].read(paths)
        rates[setting].append(len(paths) / (time.perf_counter() - start))
    first = first_reading_seconds(paths[0], args.ckpt_path)

    print(
        f"\n`python bench/predict_speed.py {' '.join(sys.argv[1:])}`: {len(paths)} images of "
        f"{args.images}, median of {args.rounds} rounds, {torch.get_num_threads()} torch "
        f"threads, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}\n"
    )
    print("| vote | precision | images/s |")
    print("| --- | --- | ---: |")
    for (vote, precision), measured in rates.items():
        print(f"| {vote} | {precision} | {statistics.median(measured):.2f} |")
    print("\nfirst reading: " + ", ".join(f"{k} {v:.2f} s" for k, v in first.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
