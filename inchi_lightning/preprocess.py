"""The Ray job: a labelled image set → a shard directory, resumable, with every reject explained.

Labels are checked on the driver (they are small); images are read and cleaned in Ray tasks,
one per shard, a bounded number in flight. A task writes its shard itself and returns only
paths and reject rows, never image arrays, through the object store. The shard plan depends only
on the input, so a re-run skips finished shards and ends with the same bytes as one clean run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inchi_lightning.imaging import CleanParams, ImageError, clean, read_gray
from inchi_lightning.shards import (
    MANIFEST_FILE,
    REJECTS_FILE,
    SPLITS,
    VOCAB_FILE,
    ShardSet,
    finished_shards,
    read_rejects,
    shard_name,
    write_shard,
)
from inchi_lightning.tokenizer import InChITokenizer, tokenize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One input row: ``row`` counts data rows from 1, as a spreadsheet shows them."""

    row: int
    image_id: str
    inchi: str
    path: str


Reject = tuple[int, str, str]  # (row, image_id, reason)


# ---- reading the input ------------------------------------------------------------------------


def read_rows(input_dir: str | os.PathLike) -> list[Row]:
    """The rows of a Kaggle BMS layout or of a flat ``labels.csv`` + ``images/`` folder.

    Raises:
        ValueError: no labels file, or one without the ``image_id`` and ``InChI`` columns.
    """
    input_dir = Path(input_dir)
    if (input_dir / "train_labels.csv").is_file():
        labels, image_path = input_dir / "train_labels.csv", _bms_path
    elif (input_dir / "labels.csv").is_file():
        labels, image_path = input_dir / "labels.csv", _flat_path
    else:
        raise ValueError(f"{input_dir} has neither train_labels.csv (BMS layout) nor labels.csv")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "InChI"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{labels} has no {' or '.join(sorted(missing))} column")
        return [
            Row(n, r["image_id"] or "", r["InChI"] or "", str(image_path(input_dir, r["image_id"])))
            for n, r in enumerate(reader, start=1)
        ]


def _bms_path(root: Path, image_id: str) -> Path:
    return root / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.png"


def _flat_path(root: Path, image_id: str) -> Path:
    return root / "images" / f"{image_id}.png"


def split_of(image_id: str, val_fraction: float, test_fraction: float) -> str:
    """``test``, ``val`` or ``train``, from a hash of the id: stable across runs and machines."""
    position = int(hashlib.sha1(image_id.encode()).hexdigest()[:8], 16) / 2**32
    if position < test_fraction:
        return "test"
    return "val" if position < test_fraction + val_fraction else "train"


# ---- checking labels --------------------------------------------------------------------------


def label_problem(inchi: str, vocabulary: InChITokenizer | None) -> str | None:
    """Why a label cannot be used, or None. RDKit must parse it and it must tokenise."""
    from inchi_lightning.chem import mol_from_inchi

    if not inchi.strip():
        return "empty label"
    try:
        tokenize(inchi)
    except ValueError:
        return "label is not a standard InChI (no InChI=1S/ prefix)"
    if mol_from_inchi(inchi) is None:
        return "label does not parse as InChI (RDKit)"
    if vocabulary is not None:
        unknown = vocabulary.unknown_tokens(inchi)
        if unknown:
            return f"label has tokens not in the vocabulary: {' '.join(dict.fromkeys(unknown))}"
        if vocabulary.decode(vocabulary.encode(inchi)) != inchi:
            return "label does not round-trip through the tokenizer"
    return None


def check_labels(
    rows: list[Row], vocabulary: InChITokenizer | None, progress: bool
) -> tuple[list[Row], list[Reject]]:
    """Split rows into usable ones and rejects (empty, duplicate id, unparsable, unknown tokens)."""
    from tqdm import tqdm

    accepted, rejects, first_row = [], [], {}
    for row in tqdm(rows, desc="checking labels", unit="label", disable=not progress):
        if not row.image_id:
            problem = "empty image_id"
        elif row.image_id in first_row:
            problem = f"duplicate image_id (first at row {first_row[row.image_id]})"
        else:
            first_row[row.image_id] = row.row
            problem = label_problem(row.inchi, vocabulary)
        if problem:
            rejects.append((row.row, row.image_id, problem))
        else:
            accepted.append(row)
    return accepted, rejects


# ---- the Ray tasks ----------------------------------------------------------------------------


def build_shard(
    split_dir: str, shard_index: int, rows: list[Row], clean_params: dict
) -> tuple[str, list[Reject], int]:
    """Clean the images of ``rows`` and write them as one shard; runs inside a Ray task.

    Returns the shard's path, its rejects (unreadable or empty images) and this process's id.
    """
    import cv2

    cv2.setNumThreads(1)  # one task per core: OpenCV's own threads would oversubscribe them
    params = CleanParams(**clean_params)
    images, kept, rejects = [], [], []
    for row in rows:
        try:
            images.append(clean(read_gray(row.path), params))
            kept.append(row)
        except ImageError as exc:
            rejects.append((row.row, row.image_id, str(exc).replace(f": {row.path}", "")))
    size = params.image_size
    array = np.stack(images) if images else np.zeros((0, size, size), dtype=np.uint8)
    path = write_shard(
        split_dir,
        shard_index,
        array,
        [r.image_id for r in kept],
        [r.inchi for r in kept],
        rejects,
    )
    return str(path), rejects, os.getpid()


def plan_shards(rows: list[Row], output_dir: Path, split_fn, shard_size: int):
    """``(split_dir, shard_index, rows)`` for every shard: input order, fixed size per split."""
    by_split: dict[str, list[Row]] = {split: [] for split in SPLITS}
    for row in rows:
        by_split[split_fn(row.image_id)].append(row)
    return [
        (output_dir / split, i // shard_size, part[i : i + shard_size])
        for split, part in by_split.items()
        for i in range(0, len(part), shard_size)
    ]


def run_tasks(plan, clean_params: CleanParams, progress: bool) -> tuple[list[Reject], set[int]]:
    """Run ``build_shard`` for every unfinished shard on Ray; resume-skips finished ones."""
    import ray
    from tqdm import tqdm

    remote = ray.remote(num_cpus=1)(build_shard)
    max_in_flight = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
    params = dataclasses.asdict(clean_params)
    todo, rejects, pids = [], [], set()
    for split_dir, index, rows in plan:
        done = split_dir / shard_name(index)
        if done.is_dir():
            rejects += read_rejects(done)
        else:
            todo.append((split_dir, index, rows))
    images = sum(len(rows) for _, _, rows in todo)
    bar = tqdm(total=images, desc="cleaning", unit="img", disable=not progress)
    pending: dict = {}
    while todo or pending:
        while todo and len(pending) < max_in_flight:
            split_dir, index, rows = todo.pop(0)
            split_dir.mkdir(parents=True, exist_ok=True)
            pending[remote.remote(str(split_dir), index, rows, params)] = len(rows)
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            _, shard_rejects, pid = ray.get(ref)
            rejects += shard_rejects
            pids.add(pid)
            bar.update(pending.pop(ref))
    bar.close()
    return rejects, pids


def connect_ray(address: str | None, num_cpus: int | None) -> bool:
    """Join ``address`` or start a local Ray; True when this call started it (and must stop it)."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return True


# ---- the job ----------------------------------------------------------------------------------


def preprocess(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    clean_params: CleanParams = CleanParams(),
    shard_size: int = 1000,
    val_fraction: float = 0.05,
    test_fraction: float = 0.0,
    vocab_path: str | os.PathLike | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
) -> dict:
    """Turn a labelled image set into a shard directory and return its manifest.

    Every input row ends up either as a sample or as a line of ``rejects.csv`` with its reason.

    Raises:
        ValueError: unreadable input layout, bad fractions, or no usable row at all.
    """
    if shard_size < 1 or not 0 <= val_fraction + test_fraction <= 1:
        raise ValueError("shard size must be >= 1 and val + test fractions within [0, 1]")
    started = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = read_rows(input_dir)
    given = InChITokenizer.load(vocab_path) if vocab_path else None
    accepted, rejects = check_labels(rows, given, progress)
    if not accepted:
        raise ValueError(f"none of the {len(rows)} rows of {input_dir} has a usable label")

    def split_fn(image_id: str) -> str:
        return split_of(image_id, val_fraction, test_fraction)

    tokenizer = given or build_vocabulary(accepted, split_fn)
    plan = plan_shards(accepted, output_dir, split_fn, shard_size)
    started_ray = connect_ray(address, num_cpus)
    try:
        task_rejects, pids = run_tasks(plan, clean_params, progress)
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    rejects = sorted(rejects + task_rejects)
    tokenizer.save(output_dir / VOCAB_FILE)
    write_rejects(output_dir / REJECTS_FILE, rejects)
    manifest = build_manifest(rows, rejects, output_dir, clean_params, tokenizer, input_dir)
    write_json(output_dir / MANIFEST_FILE, manifest)
    seconds = time.perf_counter() - started
    return {**manifest, "run": {"seconds": seconds, "worker_pids": sorted(pids)}}


def build_vocabulary(accepted: list[Row], split_fn) -> InChITokenizer:
    """The vocabulary of the training split (of everything, when nothing goes to training)."""
    train = [r.inchi for r in accepted if split_fn(r.image_id) == "train"]
    return InChITokenizer.build(train or [r.inchi for r in accepted])


def build_manifest(rows, rejects, output_dir: Path, clean_params, tokenizer, input_dir) -> dict:
    counts = {split: _count(output_dir / split) for split in SPLITS}
    accepted = sum(counts.values())
    if accepted + len(rejects) != len(rows):
        raise RuntimeError(
            f"{accepted} accepted + {len(rejects)} rejected != {len(rows)} input rows"
        )
    return {
        "input": str(Path(input_dir).resolve()),
        "input_rows": len(rows),
        "accepted": accepted,
        "rejected": len(rejects),
        "rejected_by_reason": dict(Counter(_reason_kind(r[2]) for r in rejects)),
        "splits": counts,
        "image_size": clean_params.image_size,
        "clean": dataclasses.asdict(clean_params),
        "vocab_size": tokenizer.vocab_size,
        "vocab_fingerprint": tokenizer.fingerprint,
        "shards": [
            str(p.relative_to(output_dir)) for s in SPLITS for p in finished_shards(output_dir / s)
        ],
    }


def _count(split_dir: Path) -> int:
    return len(ShardSet(split_dir))


def _reason_kind(reason: str) -> str:
    """A reason without its details, for counting: ``tokens not in the vocabulary``."""
    return reason.split(":")[0].split(" (")[0]


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", newline="") as handle:
        csv.writer(handle).writerows([("row", "image_id", "reason"), *rejects])
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


# ---- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning preprocess",
        description="Clean labelled molecule images on Ray (despeckle, sharpen, crop, turn "
        "landscape, resize) and write training shards, vocab.json, manifest.json and "
        "rejects.csv. Reads the Kaggle BMS layout (train_labels.csv + train/a/b/c/<id>.png) "
        "or a flat folder (labels.csv + images/<id>.png). A re-run resumes.",
    )
    parser.add_argument("--input", required=True, help="the labelled image set")
    parser.add_argument("--output", required=True, help="the shard directory to write")
    parser.add_argument("--image-size", type=int, default=256, help="output side (default 256)")
    parser.add_argument("--shard-size", type=int, default=1000, help="images per shard")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="share for validation")
    parser.add_argument("--test-fraction", type=float, default=0.0, help="share for testing")
    parser.add_argument("--vocab", help="reuse this vocab.json (e.g. the training set's)")
    parser.add_argument("--address", help="join a Ray cluster ('auto' or host:port)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = preprocess(
            args.input,
            args.output,
            clean_params=CleanParams(image_size=args.image_size),
            shard_size=args.shard_size,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            vocab_path=args.vocab,
            address=args.address,
            num_cpus=args.num_cpus,
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(manifest, args.output))
    return 0


def summary(manifest: dict, output: str) -> str:
    run = manifest["run"]
    rate = manifest["accepted"] / run["seconds"] if run["seconds"] else 0.0
    splits = ", ".join(f"{k} {v}" for k, v in manifest["splits"].items() if v)
    reasons = ", ".join(f"{k}: {v}" for k, v in manifest["rejected_by_reason"].items())
    return (
        f"{manifest['input_rows']} rows: {manifest['accepted']} accepted ({splits}), "
        f"{manifest['rejected']} rejected{f' ({reasons})' if reasons else ''}; "
        f"{rate:.0f} images/s overall; shards in {output}"
    )
