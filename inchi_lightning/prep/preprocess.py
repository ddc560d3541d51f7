"""The Ray job: a labelled image set → a shard directory, resumable, with every reject explained.

Every label is checked before any image work (``labels.accept_labels``: ids and the tokenizer
on the driver, RDKit's parse in tasks like the images', then the vocabulary, given or built from
the training split), so that every accepted sample of every split decodes back to its label.
Images are read and cleaned in Ray tasks, one per shard, a bounded number in flight; a task
writes its shard itself, so only paths and reject rows, never image arrays, go through the
object store. The shard plan depends only on the input and the settings, so a re-run skips
finished shards and ends with the same bytes as one uninterrupted run. With ``processes`` the
same tasks run in local worker processes instead, for a machine without Ray.

Ray's session files go to ``$RAY_TMPDIR/ray`` (Ray's own variable; default ``/tmp/ray``). With
``address`` (a running cluster), input and output must be paths that every node sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inchi_lightning.cli import user_error
from inchi_lightning.imaging import CleanParams, ImageError, clean, read_gray
from inchi_lightning.labels import (
    InputError,
    Layout,
    Row,
    accept_labels,
    find_layout,
    read_rows,
    split_of,
)
from inchi_lightning.shards import (
    MANIFEST_FILE,
    REJECTS_FILE,
    SPLITS,
    VOCAB_FILE,
    Reject,
    ShardSet,
    finished_shards,
    read_rejects,
    rejects_csv,
    remove_leftovers,
    shard_name,
    shard_source,
    write_shard,
)
from inchi_lightning.tasks import Tasks, run_bounded, task_runner
from inchi_lightning.tokenizer import InChITokenizer

log = logging.getLogger(__name__)

CPU_KINDS = {"ray": "Ray CPUs", "processes": "worker processes"}


# ---- the shard plan and its tasks -------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    """One shard to build: its split, number and input rows, and a fingerprint of all three
    together with the clean() settings (stored in the shard, checked on resume)."""

    split: str
    index: int
    rows: tuple[Row, ...]
    source: str


def plan_shards(
    rows: Sequence[Row], split: Callable[[str], str], shard_size: int, clean_params: CleanParams
) -> list[ShardTask]:
    """Consecutive runs of ``shard_size`` rows per split, in input order."""
    by_split: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for row in rows:
        by_split[split(row.image_id)].append(row)
    settings = json.dumps(dataclasses.asdict(clean_params), sort_keys=True)
    plan = []
    for name, part in by_split.items():
        for index, start in enumerate(range(0, len(part), shard_size)):
            shard_rows = tuple(part[start : start + shard_size])
            content = [settings, name, index, [dataclasses.astuple(r) for r in shard_rows]]
            source = hashlib.sha256(json.dumps(content).encode()).hexdigest()
            plan.append(ShardTask(name, index, shard_rows, source))
    return plan


def unfinished(plan: list[ShardTask], output_dir: Path) -> list[ShardTask]:
    """The planned shards not yet on disk. Raises InputError when ``output_dir`` holds shards
    of another input or other settings: resuming would mix them."""
    planned = {output_dir / task.split / shard_name(task.index): task for task in plan}
    for split in SPLITS:
        for shard_dir in finished_shards(output_dir / split):
            task = planned.get(shard_dir)
            if task is None or shard_source(shard_dir) != task.source:
                raise InputError(
                    f"{shard_dir} was made from other rows or settings than this run's: "
                    "choose a new --output or delete the old one"
                )
    return [task for path, task in planned.items() if not path.is_dir()]


@dataclass(frozen=True)
class ShardResult:
    """What a shard task sends back: no images, only where they went and who made them."""

    path: str
    rejects: list[Reject]
    worker: str  # host:pid of the Ray worker or process


def build_shard(
    output_dir: str, task: ShardTask, layout: Layout, clean_params: CleanParams
) -> ShardResult:
    """Read and clean the images of ``task`` and write its shard (runs in a task).

    Rows whose image is missing, unreadable or empty become rejects: the shard holds the rest.
    """
    import cv2

    cv2.setNumThreads(1)  # one task per core: OpenCV's own threads would oversubscribe it
    size = clean_params.image_size
    images = np.empty((len(task.rows), size, size), dtype=np.uint8)
    kept, rejects = [], []
    for row in task.rows:
        try:
            images[len(kept)] = clean(read_gray(layout.image_path(row.image_id)), clean_params)
            kept.append(row)
        except ImageError as error:
            rejects.append((row.row, row.image_id, error.reason))
    path = write_shard(
        Path(output_dir) / task.split,
        task.index,
        images[: len(kept)],
        [row.image_id for row in kept],
        [row.inchi for row in kept],
        rejects,
        source=task.source,
    )
    return ShardResult(str(path), rejects, f"{socket.gethostname()}:{os.getpid()}")


def build_shards(
    tasks: list[ShardTask],
    output_dir: Path,
    layout: Layout,
    clean_params: CleanParams,
    runner: Tasks,
    progress: bool,
) -> dict:
    """Run ``build_shard`` for every task on ``runner``, with a progress bar in images per second.

    Returns a record of the work: shards written, images cleaned and their rate, the workers.
    """
    from tqdm import tqdm

    calls = [(str(output_dir), task, layout, clean_params) for task in tasks]
    images = sum(len(task.rows) for task in tasks)
    workers = set()
    started = time.perf_counter()
    with tqdm(total=images, desc="cleaning images", unit="img", disable=not progress) as bar:
        for index, result in run_bounded(runner, build_shard, calls):
            workers.add(result.worker)
            bar.update(len(tasks[index].rows))
    seconds = time.perf_counter() - started
    return {
        "shards_written": len(tasks),
        "images_cleaned": images,
        "images_per_second": round(images / seconds, 1) if images else 0.0,
        "workers": sorted(workers),
    }


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
    processes: bool = False,
) -> dict:
    """Turn a labelled image set into a shard directory and return its manifest.

    Every input row ends up either as a sample of a split or as a line of ``rejects.csv`` with
    its reason. Shards already in ``output_dir`` from an interrupted run with the same input
    and settings are kept; the result is byte for byte that of an uninterrupted run.
    ``vocab.json`` is ``vocab_path``'s vocabulary (rows with other tokens are rejected) or the
    one built from the training split. ``manifest.json`` is written last: its presence means
    the directory is complete. One job per ``output_dir`` at a time.

    Raises:
        InputError (a ValueError): no labels file or columns, bad settings, an output directory
            made from other input, or no usable row at all (``rejects.csv`` says why).
    """
    started = time.perf_counter()
    check_settings(shard_size, val_fraction, test_fraction)
    layout = find_layout(input_dir)
    output_dir = make_output_dir(output_dir)
    rows = read_rows(layout)
    given = load_vocabulary(vocab_path) if vocab_path else None
    split = functools.partial(split_of, val_fraction=val_fraction, test_fraction=test_fraction)
    with task_runner(address, num_cpus, processes) as runner:
        accepted, vocabulary, rejects = accept_labels(rows, given, split, runner, progress)
        plan = plan_shards(accepted, split, shard_size, clean_params)
        tasks = unfinished(plan, output_dir)
        run = build_shards(tasks, output_dir, layout, clean_params, runner, progress)
    rejects = sorted(rejects + shard_rejects(plan, output_dir))
    counts = {name: len(ShardSet(output_dir / name)) for name in SPLITS}
    if sum(counts.values()) == 0:
        write_atomically(output_dir / REJECTS_FILE, rejects_csv(rejects))
        raise InputError(f"no row of {input_dir} is usable: see {output_dir / REJECTS_FILE}")
    manifest = build_manifest(rows, counts, rejects, output_dir, clean_params, vocabulary, layout)
    manifest.update(
        shard_size=shard_size,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        vocab_source=str(Path(vocab_path).resolve()) if vocab_path else "train split",
        run={
            "seconds": round(time.perf_counter() - started, 3),
            "shards_resumed": len(plan) - len(tasks),
            "backend": runner.backend,
            "cpus": runner.cpus,
            **run,
        },
    )
    write_outputs(output_dir, vocabulary, rejects, manifest)
    return manifest


def check_settings(shard_size: int, val_fraction: float, test_fraction: float) -> None:
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, not {shard_size}")
    if min(val_fraction, test_fraction) < 0 or val_fraction + test_fraction > 1:
        raise InputError("val and test fractions must be >= 0 and add up to at most 1")


def make_output_dir(output_dir: str | os.PathLike) -> Path:
    output_dir = Path(output_dir).resolve()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {output_dir}: {error.strerror}") from error
    return output_dir


def load_vocabulary(path: str | os.PathLike) -> InChITokenizer:
    try:
        return InChITokenizer.load(path)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"cannot read the vocabulary {path}: {error}") from error


def shard_rejects(plan: list[ShardTask], output_dir: Path) -> list[Reject]:
    """The image rejects recorded in every planned shard (written now or by an earlier run)."""
    return [
        reject
        for task in plan
        for reject in read_rejects(output_dir / task.split / shard_name(task.index))
    ]


def build_manifest(
    rows: Sequence[Row],
    counts: dict[str, int],
    rejects: list[Reject],
    output_dir: Path,
    clean_params: CleanParams,
    tokenizer: InChITokenizer,
    layout: Layout,
) -> dict:
    """The manifest; checks first that every input row is a sample or a reject, once."""
    accepted = sum(counts.values())
    if accepted + len(rejects) != len(rows) or len({r[0] for r in rejects}) != len(rejects):
        raise RuntimeError(
            f"{accepted} accepted + {len(rejects)} rejected != {len(rows)} input rows"
        )
    return {
        "input": str(layout.labels.parent),
        "layout": "bms" if layout.nested else "flat",
        "input_rows": len(rows),
        "accepted": accepted,
        "rejected": len(rejects),
        "splits": counts,
        "rejected_by_reason": dict(Counter(reason_kind(r[2]) for r in rejects).most_common()),
        "image_size": clean_params.image_size,
        "clean": dataclasses.asdict(clean_params),
        "vocab_size": tokenizer.vocab_size,
        "vocab_fingerprint": tokenizer.fingerprint,
        "shards": [
            str(p.relative_to(output_dir)) for s in SPLITS for p in finished_shards(output_dir / s)
        ],
    }


def reason_kind(reason: str) -> str:
    """A reason without its details, for counting: ``duplicate image_id``."""
    return reason.partition(":")[0]


def write_outputs(
    output_dir: Path, tokenizer: InChITokenizer, rejects: list[Reject], manifest: dict
) -> None:
    """vocab.json, rejects.csv, then manifest.json: each atomically, the manifest last."""
    tokenizer.save(output_dir / VOCAB_FILE)
    write_atomically(output_dir / REJECTS_FILE, rejects_csv(rejects))
    for split in SPLITS:  # leftovers of killed runs; every task of this one has finished
        remove_leftovers(output_dir / split)
    write_atomically(output_dir / MANIFEST_FILE, json.dumps(manifest, indent=1) + "\n")


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# ---- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning preprocess",
        description=(
            "Check the labels, clean the images on Ray (despeckle, sharpen, crop, turn "
            "landscape, resize, pad) and write a shard directory: vocab.json, manifest.json, "
            "rejects.csv and SPLIT/shard-NNNNN/{images.npy,index.parquet}. Reads the Kaggle "
            "BMS layout (train_labels.csv + train/a/b/c/<id>.png) or a flat folder "
            "(labels.csv + images/<id>.png). Run it again on the same output to resume."
        ),
        epilog="Ray keeps its session files under $RAY_TMPDIR/ray (default /tmp/ray).",
    )
    parser.add_argument("--input", required=True, metavar="RAW", help="the labelled image set")
    parser.add_argument(
        "--output", required=True, metavar="SHARDS", help="the shard directory to write"
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=256,
        metavar="PX",
        help="side of the square images (default 256)",
    )
    parser.add_argument(
        "--shard-size", type=int, default=1000, metavar="N", help="images per shard (default 1000)"
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of ids for validation (0.05)",
    )
    parser.add_argument(
        "--test-fraction", type=float, default=0.0, metavar="F", help="share of ids for testing (0)"
    )
    parser.add_argument(
        "--vocab",
        metavar="PATH",
        help="reuse this vocab.json (e.g. the training set's when preparing a test set); "
        "rows with other tokens are rejected",
    )
    parser.add_argument(
        "--address", help="join a running Ray cluster ('auto' or host:port) instead of a local Ray"
    )
    parser.add_argument(
        "--num-cpus",
        type=int,
        metavar="N",
        help="CPUs for the local Ray or the worker processes (default: all)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="run the tasks in local worker processes instead of Ray (a machine without Ray)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m inchi_lightning preprocess``: 0 on success, 2 with one line on user errors
    (``INCHI_LIGHTNING_DEBUG=1`` raises them instead, with their traceback)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = preprocess(
            args.input,
            args.output,
            clean_params=clean_params_of(args),
            shard_size=args.shard_size,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            vocab_path=args.vocab,
            address=args.address,
            num_cpus=args.num_cpus,
            processes=args.processes,
        )
    except InputError as error:
        return user_error(error)
    print(summary(manifest, args.output))
    return 0


def clean_params_of(args: argparse.Namespace) -> CleanParams:
    try:
        return CleanParams(image_size=args.image_size)
    except ValueError as error:
        raise InputError(str(error)) from error


def summary(manifest: dict, output: str | os.PathLike) -> str:
    """A few lines for the terminal: rows, accepted per split, rejects by reason, speed."""
    splits = ", ".join(f"{name} {count}" for name, count in manifest["splits"].items() if count)
    reasons = ", ".join(f"{kind} {n}" for kind, n in manifest["rejected_by_reason"].items())
    run = manifest["run"]
    lines = [
        f"{manifest['input_rows']} rows: {manifest['accepted']} accepted ({splits}), "
        f"{manifest['rejected']} rejected" + (f" ({reasons})" if reasons else ""),
        f"cleaned {run['images_cleaned']} images at {run['images_per_second']:.0f} images/s "
        f"on {run['cpus']} {CPU_KINDS[run['backend']]} ({run['shards_written']} shards written, "
        f"{run['shards_resumed']} already done)",
        f"shards: {output}",
    ]
    return "\n".join(lines)
