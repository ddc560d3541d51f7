"""OSRA beside this project's model, on the same labelled images, scored the same way.

    python bench/peers.py --images ../shared/data/uspto-300 --out ~/runs/peers

Runs OSRA (the rule-based recogniser: ``apt-get install osra``) on every labelled image of
``--images`` (either layout ``evaluate`` reads) in ``--workers`` processes, turns its SMILES into
standard InChIs with RDKit (the InChIs our labels are), and writes ``OUT/osra.csv``; runs the
model of ``--ckpt_path`` (default: the shipped model) through ``evaluate``'s own code and
writes ``OUT/model.csv``; then scores both submissions with ``score`` and prints one row per
tool: images, mean Levenshtein, exact match, images/s (wall clock of the tool's whole pass,
image reading and cleaning included). Without OSRA on the PATH its row says so and the model's
row is still printed.
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

from inchi_lightning.chem import inchi_from_smiles
from inchi_lightning.evaluation.labelled_set import predict_labelled, read_labelled_rows
from inchi_lightning.evaluation.scoring import score_submission
from inchi_lightning.labels_file import write_pairs
from inchi_lightning.shipped import require_shipped_model

OSRA_SECONDS = 120  # per image: OSRA can hang on a large scan


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


def run_osra(images_dir: Path, out: Path, workers: int) -> tuple[Path, float] | None:
    """OSRA's submission for every labelled image and its images/s; None without OSRA."""
    if shutil.which("osra") is None:
        return None
    layout, rows = read_labelled_rows(images_dir)
    paths = [layout.image_path(row.image_id) for row in rows]
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # each thread waits on its own osra process
        inchis = list(tqdm(pool.map(osra_inchi, paths), total=len(paths), desc="osra"))
    seconds = time.perf_counter() - started
    submission = out / "osra.csv"
    write_pairs(
        submission, [(row.image_id, inchi) for row, inchi in zip(rows, inchis, strict=True)]
    )
    return submission, len(rows) / seconds


def run_model(images_dir: Path, out: Path, ckpt_path: str | None, workers: int):
    """The model's submission, as ``evaluate`` predicts (first valid candidate, normalised)."""
    started = time.perf_counter()
    samples = predict_labelled(
        ckpt_path or require_shipped_model(), images_dir, num_workers=workers
    )
    seconds = time.perf_counter() - started
    submission = out / "model.csv"
    write_pairs(submission, [(s.image_id, s.predicted("final")) for s in samples])
    return submission, len(samples) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/data/uspto-300"))
    parser.add_argument("--out", type=Path, default=Path("peers"))
    parser.add_argument("--ckpt_path", "--ckpt-path", help="default: the shipped model")
    parser.add_argument("--workers", type=int, default=2, help="OSRA processes, loader processes")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    labels = read_labelled_rows(args.images)[0].labels
    results = {"osra": run_osra(args.images, args.out, args.workers)}
    results["model"] = run_model(args.images, args.out, args.ckpt_path, args.workers)
    print(f"{'tool':<8}{'images':>8}{'mean Levenshtein':>18}{'exact match':>13}{'images/s':>10}")
    for tool, result in results.items():
        if result is None:
            print(f"{tool:<8}  not run: `osra` is not on the PATH (apt-get install osra)")
            continue
        submission, rate = result
        scores = score_submission(submission, labels)
        print(f"{tool:<8}{scores['images']:>8}{scores['levenshtein']:>18.2f}"
              f"{scores['exact_match']:>13.1%}{rate:>10.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
