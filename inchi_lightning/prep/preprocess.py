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

import dataclasses
import functools
import hashlib
import itertools
import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inchi_lightning.chemistry.molgraph import MolGraph
from inchi_lightning.imaging import (
    CleanParams,
    ImageError,
    clean,
    clean_with_transform,
    read_gray,
)
from inchi_lightning.prep.annotations import read_annotations
from inchi_lightning.prep.labels import (
    InputError,
    Layout,
    Row,
    accept_labels,
    find_layout,
    read_rows,
    split_of,
)
from inchi_lightning.prep.tasks import Tasks, run_bounded, task_runner
from inchi_lightning.shards import (
    REJECTS_FILE,
    SPLITS,
    Reject,
    ShardSet,
    finished_shards,
    read_manifest,
    read_rejects,
    shard_name,
    shard_source,
    write_rejects,
    write_shard,
    write_shard_directory,
)
from inchi_lightning.tokenizer import InChITokenizer

log = logging.getLogger(__name__)


# ---- the shard plan and its tasks -------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    """One shard to build: its split, number and input rows, and a fingerprint of all three
    together with the clean() settings and annotations (stored in the shard, checked on
    resume). ``graphs``: each row's annotation (``MolGraph.to_dict()``, raw image pixels) or
    None; empty when the input has no annotations."""

    split: str
    index: int
    rows: tuple[Row, ...]
    source: str
    graphs: tuple[dict | None, ...] = ()


def plan_shards(
    rows: Sequence[Row],
    split: Callable[[str], str],
    shard_size: int,
    clean_params: CleanParams,
    annotations: dict[str, MolGraph] | None = None,
) -> list[ShardTask]:
    """Consecutive runs of ``shard_size`` rows per split, in input order, with the rows'
    annotations where the input has them."""
    by_split: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for row in rows:
        by_split[split(row.image_id)].append(row)
    settings = json.dumps(dataclasses.asdict(clean_params), sort_keys=True)
    plan = []
    for name, part in by_split.items():
        for index, start in enumerate(range(0, len(part), shard_size)):
            shard_rows = tuple(part[start : start + shard_size])
            content = [settings, name, index, [dataclasses.astuple(r) for r in shard_rows]]
            graphs = ()
            if annotations:  # an input without annotations keeps the fingerprint it had
                graphs = tuple(_graph_dict(annotations.get(r.image_id)) for r in shard_rows)
                content.append(graphs)
            source = hashlib.sha256(json.dumps(content).encode()).hexdigest()
            plan.append(ShardTask(name, index, shard_rows, source, graphs))
    return plan


def _graph_dict(graph: MolGraph | None) -> dict | None:
    return None if graph is None else graph.to_dict()


def cleaned(
    gray: np.ndarray, graph: dict | None, clean_params: CleanParams
) -> tuple[np.ndarray, dict | None]:
    """The cleaned image and its annotation moved by the same geometry (crop, turn, scale,
    pad) into the cleaned image's pixels."""
    if graph is None:
        return clean(gray, clean_params), None
    image, matrix = clean_with_transform(gray, clean_params)
    moved = MolGraph.from_dict(graph).transformed(matrix).within(image.shape[0])
    return image, moved.to_dict()


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
    kept, graphs, rejects = [], [], []
    for row, graph in itertools.zip_longest(task.rows, task.graphs):
        try:
            gray = read_gray(layout.image_path(row.image_id))
            images[len(kept)], graph = cleaned(gray, graph, clean_params)
        except ImageError as error:
            rejects.append((row.row, row.image_id, error.reason))
            continue
        kept.append(row)
        graphs.append(graph)
    path = write_shard(
        Path(output_dir) / task.split,
        task.index,
        images[: len(kept)],
        [row.image_id for row in kept],
        [row.inchi for row in kept],
        rejects,
        source=task.source,
        graphs=graphs if task.graphs else None,
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
    held_out: Collection[str] = (),
) -> dict:
    """Turn a labelled image set into a shard directory and return its manifest.

    Every input row ends up either as a sample of a split or as a line of ``rejects.csv`` with
    its reason. Shards already in ``output_dir`` from an interrupted run with the same input
    and settings are kept; the result is byte for byte that of an uninterrupted run.
    ``vocab.json`` is ``vocab_path``'s vocabulary (rows with other tokens are rejected) or the
    one built from the training split. Rows whose molecule, stereo aside, is in ``held_out``
    (stereo-free InChIs: ``labels.held_out_molecules``) are rejected. ``manifest.json`` is
    written last: its presence means the directory is complete. One job per ``output_dir`` at
    a time.

    Raises:
        InputError (a ValueError): no labels file or columns, bad settings, an output directory
            made from other input, or no usable row at all (``rejects.csv`` says why).
    """
    started = time.perf_counter()
    check_settings(shard_size, val_fraction, test_fraction)
    layout = find_layout(input_dir)
    output_dir = make_output_dir(output_dir)
    rows, unnamed = read_rows(layout)
    given = load_vocabulary(vocab_path) if vocab_path else None
    split = functools.partial(split_of, val_fraction=val_fraction, test_fraction=test_fraction)
    with task_runner(address, num_cpus, processes) as runner:
        accepted, vocabulary, rejects = accept_labels(
            rows, given, split, runner, progress, held_out
        )
        rejects += unnamed
        annotations = read_annotations(layout.labels.parent) if layout.nested else {}
        plan = plan_shards(accepted, split, shard_size, clean_params, annotations)
        tasks = unfinished(plan, output_dir)
        run = build_shards(tasks, output_dir, layout, clean_params, runner, progress)
    rejects = sorted(rejects + shard_rejects(plan, output_dir))
    counts = {name: len(ShardSet(output_dir / name)) for name in SPLITS}
    if sum(counts.values()) == 0:
        write_rejects(output_dir, rejects)
        raise InputError(f"no row of {input_dir} is usable: see {output_dir / REJECTS_FILE}")
    input_rows = len(rows) + len(unnamed)
    manifest = build_manifest(
        input_rows, counts, rejects, output_dir, clean_params, vocabulary, layout
    )
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
    finished = read_manifest(output_dir)
    if not tasks and finished is not None and same_but_timing(finished, manifest):
        return finished  # a re-run of a finished job: its record and timing stand untouched
    write_shard_directory(output_dir, vocabulary, rejects, manifest)
    return manifest


def same_but_timing(finished: dict, manifest: dict) -> bool:
    """Whether two manifests describe the same output, whatever each run's ``run`` record."""
    return {**finished, "run": None} == {**manifest, "run": None}


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
    input_rows: int,
    counts: dict[str, int],
    rejects: list[Reject],
    output_dir: Path,
    clean_params: CleanParams,
    tokenizer: InChITokenizer,
    layout: Layout,
) -> dict:
    """The manifest; checks first that every input row is a sample or a reject, once."""
    accepted = sum(counts.values())
    if accepted + len(rejects) != input_rows or len({r[0] for r in rejects}) != len(rejects):
        raise RuntimeError(
            f"{accepted} accepted + {len(rejects)} rejected != {input_rows} input rows"
        )
    return {
        "input": str(layout.labels.parent),
        "layout": "bms" if layout.nested else "flat",
        "input_rows": input_rows,
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
