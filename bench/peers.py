"""The real development benchmark: OSRA beside this project's model on the same labelled
drawings, per source and in sum, scored the same way.

    python bench/peers.py [--sets DIR ...] [--votes auto always] [--out peers]

Reads every labelled image of each set (default: uspto-300 and real-dev's uob, uspto and
clef, 1,400 drawings) with OSRA (the rule-based recogniser: ``apt-get install osra``; its SMILES
turned into standard InChIs with RDKit, the InChIs our labels are) and with the model of
``--ckpt_path`` (default: the shipped model) through ``Reader``, as ``predict`` reads, once per
``--votes`` setting. Writes each tool's submission per set under ``--out`` and prints one
table: per set and tool, images, mean Levenshtein, exact matches, images/s (wall clock of the
tool's whole pass over the set, decoding and cleaning included), then each tool's sum over all
sets. OSRA runs first, alone; the model's threads take every CPU. Without OSRA on the PATH its
rows say so and the model's are still printed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from inchi_lightning.chemistry.inchi import inchi_from_smiles
from inchi_lightning.evaluation.labelled_set import read_labelled_rows
from inchi_lightning.evaluation.scoring import score_submission
from inchi_lightning.labels_file import write_pairs
from inchi_lightning.reading.reader import Reader

OSRA_SECONDS = 120  # per image: OSRA can hang on a large scan
DEV_SETS = [
    Path("../shared/data/uspto-300"),
    Path("../shared/data/real-dev/uob"),
    Path("../shared/data/real-dev/uspto"),
    Path("../shared/data/real-dev/clef"),
]


def osra_inchi(image: Path) -> str:
    """OSRA's reading of one image as a standard InChI; "" when it reads nothing RDKit takes.

    OSRA writes one SMILES per molecule it finds; several are one prediction, joined as a
    multi-component molecule (what an InChI of the whole drawing would be).
    """
    try:
        done = subprocess.run(
            ["osra", str(image)], capture_output=True, text=True, timeout=OSRA_SECONDS
        )
    except subprocess.TimeoutExpired:
        return ""
    smiles = ".".join(line.split()[0] for line in done.stdout.splitlines() if line.strip())
    return (inchi_from_smiles(smiles) or "") if smiles else ""


def labelled_paths(images_dir: Path) -> tuple[list[str], list[Path]]:
    layout, rows = read_labelled_rows(images_dir)
    return [row.image_id for row in rows], [layout.image_path(row.image_id) for row in rows]


def run_osra(images_dir: Path, submission: Path, workers: int) -> float:
    """OSRA's submission for every labelled image of ``images_dir``; its images/s."""
    ids, paths = labelled_paths(images_dir)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # each thread waits on its own osra process
        inchis = list(tqdm(pool.map(osra_inchi, paths), total=len(paths), desc="osra"))
    rate = len(paths) / (time.perf_counter() - started)
    write_pairs(submission, zip(ids, inchis, strict=True))
    return rate


def run_model(images_dir: Path, submission: Path, reader: Reader) -> float:
    """The model's submission, as ``predict`` writes it; its images/s."""
    ids, paths = labelled_paths(images_dir)
    started = time.perf_counter()
    readings = list(reader.iter_read(paths, progress=True, total=len(paths)))
    rate = len(paths) / (time.perf_counter() - started)
    write_pairs(submission, [(i, r.inchi) for i, r in zip(ids, readings, strict=True)])
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, nargs="+", default=DEV_SETS)
    parser.add_argument("--out", type=Path, default=Path("peers"))
    parser.add_argument("--ckpt_path", "--ckpt-path", help="default: the shipped model")
    votes = ["auto", "always", "never"]
    parser.add_argument("--votes", nargs="+", default=["always"], choices=votes)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--osra-workers", type=int, default=2, help="OSRA processes at once")
    parser.add_argument("--no-osra", action="store_true", help="the model's rows only")
    args = parser.parse_args(argv)
    tools: dict[str, dict[Path, tuple[Path, float]]] = {}
    if not args.no_osra and shutil.which("osra") is not None:
        tools["osra"] = {}
        for folder in args.sets:
            submission = args.out / folder.name / "osra.csv"
            submission.parent.mkdir(parents=True, exist_ok=True)
            tools["osra"][folder] = submission, run_osra(folder, submission, args.osra_workers)
    for vote in args.votes:
        name = f"model ({vote})"
        tools[name] = {}
        reader = Reader(args.ckpt_path, vote=vote, precision=args.precision)
        for folder in args.sets:
            submission = args.out / folder.name / f"model-{vote}.csv"
            submission.parent.mkdir(parents=True, exist_ok=True)
            tools[name][folder] = submission, run_model(folder, submission, reader)
    print_table(tools, args.sets)
    if "osra" not in tools and not args.no_osra:
        print("osra: not run: `osra` is not on the PATH (apt-get install osra)")
    return 0


def print_table(tools: dict[str, dict[Path, tuple[Path, float]]], sets: list[Path]) -> None:
    print("| set | tool | images | mean Levenshtein | exact | exact % | images/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    totals = {tool: [0, 0.0, 0, 0.0] for tool in tools}  # images, distance, exact, seconds
    for folder in sets:
        labels = read_labelled_rows(folder)[0].labels
        for tool, results in tools.items():
            submission, rate = results[folder]
            scores = score_submission(submission, labels)
            images, exact = scores["images"], round(scores["exact_match"] * scores["images"])
            total = totals[tool]
            total[0] += images
            total[1] += scores["levenshtein"] * images
            total[2] += exact
            total[3] += images / rate
            print(f"| {folder.name} | {tool} | {images} | {scores['levenshtein']:.2f} | "
                  f"{exact} | {exact / images:.1%} | {rate:.2f} |")  # fmt: skip
    for tool, (images, distance, exact, seconds) in totals.items():
        print(f"| **all** | {tool} | {images} | {distance / images:.2f} | {exact} | "
              f"{exact / images:.1%} | {images / seconds:.2f} |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
