"""A labelled image set's rows, and every check of their labels before any image work.

Two layouts: the Kaggle BMS one (``train_labels.csv``, ``train/a/b/c/<id>.png``) and a flat
folder (``labels.csv``, ``images/<id>.png``). A label is accepted when its id is new, the
tokenizer round-trips it, RDKit parses it (in parallel tasks), and the vocabulary encodes it
exactly, so that every accepted sample of every split decodes back to its label.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from inchi_lightning.chemistry.inchi import inchi_without_stereo
from inchi_lightning.labels_file import LabelsFileError, Row, read_labels
from inchi_lightning.prep.tasks import Tasks, run_bounded
from inchi_lightning.shards import Reject, ShardSet
from inchi_lightning.tokenizer import PREFIX, InChITokenizer, tokenize

log = logging.getLogger(__name__)

PARSE_CHUNK = 2000  # labels per RDKit task: big enough to amortise a task, small for balance


class InputError(ValueError):
    """A problem with the input or the settings that the user can fix; one line."""


# ---- reading the input ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where a labelled image set keeps its labels and images.

    ``nested``: the Kaggle BMS layout (``train_labels.csv``, ``train/a/b/c/<id>.png``);
    otherwise a flat folder (``labels.csv``, ``images/<id>.png``).
    """

    labels: Path
    images: Path
    nested: bool

    def image_path(self, image_id: str) -> Path:
        if self.nested:  # a short id gives a path that does not exist: a "missing file"
            return self.images.joinpath(*image_id[:3], f"{image_id}.png")
        return self.images / f"{image_id}.png"


def find_layout(input_dir: str | os.PathLike) -> Layout:
    """The layout of ``input_dir``. Raises InputError when it is neither."""
    root = Path(input_dir).resolve()
    if (root / "train_labels.csv").is_file():
        return Layout(root / "train_labels.csv", root / "train", nested=True)
    if (root / "labels.csv").is_file():
        return Layout(root / "labels.csv", root / "images", nested=False)
    raise InputError(
        f"{input_dir} has neither train_labels.csv (BMS layout) nor labels.csv (flat folder)"
    )


def read_rows(layout: Layout) -> tuple[list[Row], list[Reject]]:
    """The labels file's rows whose ids name an image, and rejects for the others
    (``labels_file.read_labels``). Raises InputError without image_id/InChI columns."""
    try:
        return read_labels(layout.labels)
    except LabelsFileError as error:
        raise InputError(str(error)) from error


def split_of(image_id: str, val_fraction: float, test_fraction: float) -> str:
    """``test``, ``val`` or ``train`` from a hash of the id: the same on every run and machine."""
    position = int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big") / 2**64
    if position < test_fraction:
        return "test"
    return "val" if position < test_fraction + val_fraction else "train"


# ---- checking labels --------------------------------------------------------------------------


def label_problem(inchi: str) -> str | None:
    """Why a label cannot be used (a reject reason), or None; RDKit is checked separately."""
    if not inchi.strip():
        return "empty label"
    if inchi != inchi.strip():
        return "label has surrounding whitespace"
    try:
        tokens = tokenize(inchi)
    except ValueError:
        return f"not a standard InChI: no {PREFIX} prefix"
    if PREFIX + "".join(tokens) != inchi:
        return "tokenizer round trip failed"
    return None


def check_labels(rows: Sequence[Row]) -> tuple[list[Row], list[Reject]]:
    """Rows with new ids and usable labels, and rejects (duplicate id, empty label, tokenizer
    problems); ``rows`` come from ``read_rows``, which rejected the ids that name no file.

    The first row of an id is kept; later rows with the same id are rejected.
    """
    accepted, rejects, first_row = [], [], {}
    for row in rows:
        if row.image_id in first_row:
            problem = f"duplicate image_id: first at row {first_row[row.image_id]}"
        else:
            first_row[row.image_id] = row.row
            problem = label_problem(row.inchi)
        if problem:
            rejects.append((row.row, row.image_id, problem))
        else:
            accepted.append(row)
    return accepted, rejects


def held_out_molecules(shard_dirs: Sequence[str | os.PathLike]) -> set[str]:
    """The stereo-free InChIs of the val and test splits of other shard directories."""
    held_out = set()
    for shards in shard_dirs:
        splits = [Path(shards) / "val", Path(shards) / "test"]
        if not any(split.is_dir() for split in splits):
            raise InputError(f"{shards}: no val or test split to hold out")
        for split in splits:
            held_out.update(map(inchi_without_stereo, ShardSet(split).inchis))
    return held_out


def without_held_out(
    rows: Sequence[Row], held_out: Collection[str]
) -> tuple[list[Row], list[Reject]]:
    """Rows whose molecule, stereo aside, is not in ``held_out`` (stereo-free InChIs), and
    rejects for the others: a second training set must not show another set's held-out
    molecules, not even as another stereoisomer."""
    accepted, rejects = [], []
    for row in rows:
        if held_out and inchi_without_stereo(row.inchi) in held_out:
            rejects.append((row.row, row.image_id, "molecule held out for validation elsewhere"))
        else:
            accepted.append(row)
    return accepted, rejects


def build_vocabulary(rows: Sequence[Row], split: Callable[[str], str]) -> InChITokenizer:
    """The vocabulary of the training split's labels (of every label when no row goes to
    training: a test set should rather reuse the training vocabulary, ``vocab_path``)."""
    train = [row.inchi for row in rows if split(row.image_id) == "train"]
    if not train:
        log.warning("no training split: building the vocabulary from every accepted label")
    return InChITokenizer.build(train or [row.inchi for row in rows])


def check_vocabulary(
    rows: Sequence[Row], vocabulary: InChITokenizer
) -> tuple[list[Row], list[Reject]]:
    """Rows whose labels ``vocabulary`` encodes exactly, and rejects for the others.

    So that every accepted sample, in every split, decodes back to its label.
    """
    accepted, rejects = [], []
    for row in rows:
        unknown = vocabulary.unknown_tokens(row.inchi)
        if unknown:
            problem = f"tokens not in the vocabulary: {' '.join(dict.fromkeys(unknown))}"
        elif vocabulary.decode(vocabulary.encode(row.inchi)) != row.inchi:
            problem = "tokenizer round trip failed"
        else:
            accepted.append(row)
            continue
        rejects.append((row.row, row.image_id, problem))
    return accepted, rejects


def accept_labels(
    rows: Sequence[Row],
    given: InChITokenizer | None,
    split: Callable[[str], str],
    tasks: Tasks,
    progress: bool,
    held_out: Collection[str] = (),
) -> tuple[list[Row], InChITokenizer, list[Reject]]:
    """Every label check before any image work: ids, tokenizer and ``held_out`` molecules
    (``without_held_out``) on the driver, RDKit in ``tasks``, then the vocabulary (``given``,
    or built from the training rows that passed).

    Returns the accepted rows, the vocabulary and the rejects.
    """
    candidates, rejects = check_labels(rows)
    candidates, elsewhere = without_held_out(candidates, held_out)
    rejects += elsewhere
    parsed, unparsable = check_with_rdkit(candidates, tasks, progress)
    vocabulary = given or build_vocabulary(parsed, split)
    accepted, unknown = check_vocabulary(parsed, vocabulary)
    return accepted, vocabulary, rejects + unparsable + unknown


def unparsable_positions(inchis: Sequence[str]) -> list[int]:
    """Positions in ``inchis`` of the labels that RDKit cannot read (runs in a task)."""
    from inchi_lightning.chemistry.inchi import mol_from_inchi

    return [i for i, inchi in enumerate(inchis) if mol_from_inchi(inchi) is None]


def check_with_rdkit(
    rows: list[Row], tasks: Tasks, progress: bool
) -> tuple[list[Row], list[Reject]]:
    """``rows`` split into those RDKit parses and rejects, parsed in parallel ``tasks``."""
    from tqdm import tqdm

    chunks = [rows[i : i + PARSE_CHUNK] for i in range(0, len(rows), PARSE_CHUNK)]
    calls = [([row.inchi for row in chunk],) for chunk in chunks]
    bad: set[int] = set()
    with tqdm(total=len(rows), desc="parsing labels", unit="label", disable=not progress) as bar:
        for index, positions in run_bounded(tasks, unparsable_positions, calls):
            bad.update(chunks[index][p].row for p in positions)
            bar.update(len(chunks[index]))
    rejects = [(r.row, r.image_id, "unparsable InChI (RDKit)") for r in rows if r.row in bad]
    return [row for row in rows if row.row not in bad], rejects
