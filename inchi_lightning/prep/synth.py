"""Synthetic datasets: RDKit drawings with scan damage, in the Kaggle BMS layout.

Each image is drawn in the BMS scan style (thin lines, specks, any orientation) or, for a chosen
fraction (``patent_fraction``), in a clean patent style (longer bonds, larger fonts, text
groups, circled benzene rings, upright, no specks); see styles.py.

    OUT/train_labels.csv                     image_id,InChI (Kaggle's header and quoting)
    OUT/train/<id[0]>/<id[1]>/<id[2]>/<image_id>.png    1-bit PNG, black ink on white
    OUT/train_annotations.jsonl              the molecule as drawn in each PNG (annotations.py)

Everything is decided by a plan made before any drawing: which molecules (molecules.py: a
seed-shuffled walk through the SMILES, then BRICS crossovers when more are needed), which
image_id each gets (a hash of seed and index) and how each is drawn and damaged (generators
seeded with seed and index). So a seed gives byte-identical output whatever the number of
workers, and a run killed half way resumes: PNGs appear under their final name only when
complete (written to a temporary name, then renamed), each chunk's annotations likewise after
its PNGs, and the annotations file and then the CSV are written last.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from concurrent.futures import Executor, as_completed
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from inchi_lightning.files import temporaries, write_atomically
from inchi_lightning.labels_file import read_pairs, write_pairs
from inchi_lightning.prep import annotations, render, styles
from inchi_lightning.prep.molecules import (
    Molecules,
    add_brics_molecules,
    choose_molecules,
    load_candidates,
)
from inchi_lightning.prep.tasks import Mapper, chunks
from inchi_lightning.processes import available_cpus, process_pool

logger = logging.getLogger(__name__)

LABELS_NAME = "train_labels.csv"
IMAGES_DIR = "train"
# Every image_id -> InChI this folder was ever planned with: a re-run that would give an
# existing PNG a different label is refused instead of silently mislabelling it.
PLAN_RECORD_NAME = ".synth_plan.csv"
# The drawing settings a folder was made with: resuming with others would mix two datasets.
SETTINGS_RECORD_NAME = ".synth_settings.json"

_DRAW_CHUNK = 16  # images per drawing task


# ---------------------------------------------------------------------------------------------
# The plan.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedImage:
    """One row of the dataset: the image at ``index`` of the plan and its label."""

    index: int
    image_id: str
    smiles: str
    inchi: str


def image_ids(seed: int, n: int) -> list[str]:
    """``n`` distinct 12-hex-digit image ids for ``seed``; id i depends only on seed and i."""
    ids: list[str] = []
    taken: set[str] = set()
    for index in range(n):
        attempt = 0
        while True:
            key = f"inchi_lightning:{seed}:{index}" + (f":{attempt}" if attempt else "")
            image_id = hashlib.sha256(key.encode()).hexdigest()[:12]
            if image_id not in taken:  # a collision is rare (~1e-5 at 100,000 ids)
                break
            attempt += 1
        taken.add(image_id)
        ids.append(image_id)
    return ids


def image_styles(seed: int, n: int, patent_fraction: float) -> dict[str, styles.StyleKind]:
    """Each image id of a synth run (its ``seed``, ``n`` and ``patent_fraction``) -> the style
    it was drawn in: plan entry i has id ``image_ids(seed, n)[i]`` and ``render.style_kind``'s
    style for i, so benchmarks can split a run's readings by style without the plan file."""
    return {
        image_id: render.style_kind(seed, index, patent_fraction)
        for index, image_id in enumerate(image_ids(seed, n))
    }


def image_path(out_dir: Path, image_id: str) -> Path:
    """Where the BMS layout keeps ``image_id``: ``train/a/b/c/abc....png``."""
    return out_dir / IMAGES_DIR / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.png"


# ---------------------------------------------------------------------------------------------
# Files.
# ---------------------------------------------------------------------------------------------


def write_png_atomically(path: Path, image: np.ndarray) -> None:
    """Write binary ``image`` as a 1-bit PNG that appears at ``path`` only when complete."""
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_BILEVEL, 1])
    if not ok:
        raise OSError(f"OpenCV could not encode {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, encoded.tobytes())


def _record_plan(out_dir: Path, plan: list[PlannedImage]) -> None:
    """Add ``plan`` to the folder's plan record; refuse one that relabels a planned image."""
    record_path = out_dir / PLAN_RECORD_NAME
    record = read_pairs(record_path) if record_path.is_file() else {}
    for entry in plan:
        if record.setdefault(entry.image_id, entry.inchi) != entry.inchi:
            raise ValueError(
                f"{out_dir} already holds a dataset of other molecules for this seed (image "
                f"{entry.image_id} is {record[entry.image_id]}); write to a new --out folder"
            )
    write_pairs(record_path, sorted(record.items()))


def _check_settings(out_dir: Path, patent_fraction: float) -> None:
    """Refuse to resume ``out_dir`` with drawing settings other than those it was drawn with.

    A folder planned without a settings record was drawn before there was a choice: BMS only.
    """
    if not (out_dir / PLAN_RECORD_NAME).is_file():
        return  # nothing drawn yet
    record_path = out_dir / SETTINGS_RECORD_NAME
    recorded = json.loads(record_path.read_text()) if record_path.is_file() else {}
    drawn_with = float(recorded.get("patent_fraction", 0.0))
    if drawn_with != patent_fraction:
        raise ValueError(
            f"{out_dir} was drawn with --patent-fraction {drawn_with:g}, not "
            f"{patent_fraction:g}: run again with {drawn_with:g} or write to a new --out folder"
        )


def _record_settings(out_dir: Path, patent_fraction: float) -> None:
    record = json.dumps({"patent_fraction": patent_fraction}) + "\n"
    write_atomically(out_dir / SETTINGS_RECORD_NAME, record)


def _remove_stray_temporaries(out_dir: Path) -> int:
    """Delete half-written PNGs left by a killed run; returns how many."""
    strays = temporaries(out_dir / IMAGES_DIR, "*/*/*/*.png")
    for stray in strays:
        stray.unlink(missing_ok=True)
    return len(strays)


# ---------------------------------------------------------------------------------------------
# Drawing in parallel.
# ---------------------------------------------------------------------------------------------


def _init_worker(parent_pid: int) -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV threads would oversubscribe
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    # A parent killed with SIGKILL cannot shut the pool down, and its idle workers would wait on
    # the task queue for ever: leave as soon as the parent is gone.
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def _draw_chunk(
    task: tuple[str, int, float, list[tuple[int, str, str]]],
) -> list[tuple[str, str]]:
    """Draw and write plan entries, then their annotations; returns (image_id, reason) for each
    one RDKit refused."""
    out_dir, seed, patent_fraction, entries = task
    failures = []
    records = {}
    for index, image_id, smiles in entries:
        try:
            drawn = render.render_annotated(smiles, seed, index, patent_fraction)
        except ValueError as exc:
            failures.append((image_id, str(exc)))
            continue
        write_png_atomically(image_path(Path(out_dir), image_id), drawn.image)
        records[image_id] = annotations.record_line(image_id, drawn.graph, drawn.problem)
    annotations.write_part(Path(out_dir), records)
    return failures


def _draw(
    executor: Executor | None,
    out_dir: Path,
    seed: int,
    patent_fraction: float,
    todo: list[PlannedImage],
    progress: bool,
) -> list[tuple[str, str]]:
    entries = [(entry.index, entry.image_id, entry.smiles) for entry in todo]
    entry_chunks = chunks(entries, _DRAW_CHUNK)
    tasks = [(str(out_dir), seed, patent_fraction, chunk) for chunk in entry_chunks]
    failures: list[tuple[str, str]] = []
    with tqdm(total=len(entries), desc="drawing", unit="img", disable=not progress) as bar:
        if executor is None:
            for task in tasks:
                failures += _draw_chunk(task)
                bar.update(len(task[-1]))
        else:
            futures = {executor.submit(_draw_chunk, task): len(task[-1]) for task in tasks}
            try:
                for future in as_completed(futures):
                    failures += future.result()
                    bar.update(futures[future])
            except BaseException:
                for future in futures:
                    future.cancel()  # stop now rather than draw every queued chunk first
                raise
    return sorted(failures)


def _worker_count(num_workers: int | None, n: int) -> int:
    if num_workers is not None:
        return max(num_workers, 0)
    return min(available_cpus(), math.ceil(n / _DRAW_CHUNK))


def _executor(workers: int) -> AbstractContextManager[Executor | None]:
    if workers <= 1:
        return nullcontext(None)
    return process_pool(workers, initializer=_init_worker, initargs=(os.getpid(),))


# ---------------------------------------------------------------------------------------------
# The whole job.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthReport:
    """What ``synthesise`` did."""

    out_dir: Path
    rows: int  # rows of train_labels.csv
    written: int  # PNGs drawn by this run
    skipped_existing: int  # PNGs already complete from an earlier run
    invalid_smiles: int  # candidate molecules without an InChI (unparseable), skipped
    invalid_lines: tuple[int, ...]  # their line numbers in the SMILES file
    duplicate_molecules: int  # candidates whose InChI an earlier one had, skipped
    from_brics: int  # molecules made by BRICS recombination
    stray_temporaries_removed: int  # half-written PNGs of a killed run, deleted
    draw_failures: tuple[str, ...]  # image_ids RDKit could not draw: left out of the CSV


def _not_yet_drawn(out_dir: Path, plan: list[PlannedImage]) -> list[PlannedImage]:
    """The plan entries without a PNG or without an annotation (the PNG is drawn again then:
    the same bytes, now with its record; a folder from before annotations gets them so)."""
    recorded = annotations.recorded_lines(out_dir)
    return [
        entry
        for entry in plan
        if entry.image_id not in recorded or not image_path(out_dir, entry.image_id).is_file()
    ]


def _warn_missing_fonts() -> None:
    """Patent drawings are set in Times- and Arial-like fonts where the machine has them; a
    set drawn without them reads real patents worse, so say so before hours of drawing."""
    missing = styles.missing_fonts("patent")
    if missing:
        logger.warning(
            "fonts %s are not on this machine: RDKit's built-in font draws in their place "
            "(install %s)",
            ", ".join(missing),
            styles.FONT_PACKAGE,
        )


def _warn_invalid(smiles_file: Path | None, lines: list[int]) -> None:
    if not lines:
        return
    first = ", ".join(str(line) for line in lines[:5]) + (", ..." if len(lines) > 5 else "")
    where = f"{smiles_file}, lines" if smiles_file is not None else "RDKit's corpus, entries"
    logger.warning("skipped %d invalid SMILES (%s %s)", len(lines), where, first)


def _plan(
    candidates: list[tuple[int, str]],
    n: int,
    seed: int,
    executor: Executor | None,
    workers: int,
    check_all: bool,
) -> tuple[list[PlannedImage], Molecules]:
    mapper: Mapper = map if executor is None else executor.map
    wave = max(2 * workers, 1)
    molecules = choose_molecules(candidates, n, seed, mapper, wave, check_all)
    if not molecules.chosen:
        raise ValueError("none of the given SMILES is a valid molecule")
    if len(molecules.chosen) < n:
        logger.info(
            "%d distinct molecules given; making %d more by BRICS recombination",
            len(molecules.chosen),
            n - len(molecules.chosen),
        )
        add_brics_molecules(molecules, n, seed, mapper, wave)
    plan = [
        PlannedImage(index=index, image_id=image_id, smiles=smiles, inchi=inchi)
        for index, (image_id, (smiles, inchi)) in enumerate(
            zip(image_ids(seed, n), molecules.chosen, strict=True)
        )
    ]
    return plan, molecules


def synthesise(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    smiles_file: str | Path | None = None,
    num_workers: int | None = None,
    progress: bool = True,
    patent_fraction: float = 0.0,
) -> SynthReport:
    """Draw ``n`` damaged images of distinct molecules into ``out_dir`` in the BMS layout.

    Molecules come from ``smiles_file`` (see ``molecules.read_smiles_file``; invalid lines are
    skipped with a warning) or from ``corpus.default_smiles()``; BRICS crossovers make up the number
    when there are fewer distinct molecules than ``n``. No InChI appears twice. The same seed gives
    byte-identical PNGs and CSV whatever ``num_workers`` (None: one per core; 0 or 1: this process
    only). Existing PNGs are kept, so an interrupted run resumes where it stopped. Beside the CSV,
    ``train_annotations.jsonl`` records the molecule as drawn in each image, in the CSV's order (see
    annotations.py); it too is byte-identical for a seed, resumed or not. About ``patent_fraction``
    of the images (chosen by seed and index) are drawn in the clean patent style instead of the BMS
    scan style; 0 draws exactly what earlier versions drew.

    Raises ``ValueError`` when ``n``, ``seed`` or ``patent_fraction`` is out of range, when ``n``
    distinct molecules cannot be made, or when ``out_dir`` holds a dataset planned with other
    molecules or another ``patent_fraction``; ``FileNotFoundError`` when ``smiles_file`` is
    missing.
    """
    out_dir, smiles_file = Path(out_dir), None if smiles_file is None else Path(smiles_file)
    if n <= 0:
        raise ValueError(f"--n must be a positive number of images, not {n}")
    if seed < 0:
        raise ValueError(f"--seed must be zero or positive, not {seed}")
    if not 0.0 <= patent_fraction <= 1.0:
        raise ValueError(f"--patent-fraction must be between 0 and 1, not {patent_fraction}")
    patent_fraction = float(patent_fraction)
    _check_settings(out_dir, patent_fraction)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file, not a folder")
    if patent_fraction > 0:
        _warn_missing_fonts()
    candidates = load_candidates(smiles_file)
    workers = _worker_count(num_workers, n)
    with _executor(workers) as executor:
        plan, molecules = _plan(
            candidates, n, seed, executor, workers, check_all=smiles_file is not None
        )
        _warn_invalid(smiles_file, molecules.invalid_lines)
        out_dir.mkdir(parents=True, exist_ok=True)
        _record_settings(out_dir, patent_fraction)
        _record_plan(out_dir, plan)
        strays = _remove_stray_temporaries(out_dir)
        todo = _not_yet_drawn(out_dir, plan)
        failures = _draw(executor, out_dir, seed, patent_fraction, todo, progress)
    for image_id, reason in failures:
        logger.warning("left out image %s: %s", image_id, reason)
    failed = {image_id for image_id, _ in failures}
    rows = [(entry.image_id, entry.inchi) for entry in plan if entry.image_id not in failed]
    lines = annotations.recorded_lines(out_dir)
    annotations.write_annotations(out_dir, [image_id for image_id, _ in rows], lines)
    write_pairs(out_dir / LABELS_NAME, rows)
    return SynthReport(
        out_dir=out_dir,
        rows=len(rows),
        written=len(todo) - len(failed),
        skipped_existing=len(plan) - len(todo),
        invalid_smiles=len(molecules.invalid_lines),
        invalid_lines=tuple(molecules.invalid_lines),
        duplicate_molecules=molecules.duplicates,
        from_brics=molecules.from_brics,
        stray_temporaries_removed=strays,
        draw_failures=tuple(sorted(failed)),
    )
