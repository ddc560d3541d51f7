"""Annotations of a synthetic dataset: the molecule as drawn in each image, beside the labels.

    OUT/train_annotations.jsonl    one JSON object a line, in the order of train_labels.csv:
        {"image_id":"0a1b2c3d4e5f","graph":{"atoms":[[x,y,"C"],...],"bonds":[[0,1,"-"],...]}}
        {"image_id":"...","graph":null,"problem":"not recorded: ..."}   (no graph: see why)

``graph`` is ``molgraph.MolGraph.to_dict()``: atom centres in the PNG's pixels (numpy's pixel
centres: (x, y) is the centre of column x, row y), after every turn the drawing and its damage
applied. The Kaggle layout is untouched: a reader that knows nothing of this file sees the same
dataset. Datasets without the file (Kaggle's download, uspto-300) simply have no annotations.

While drawing, each chunk of images leaves its records in a hidden folder (``PARTS_DIR``),
written atomically after the chunk's PNGs. A killed run re-run finds them (and the finished file
of an earlier run, if any), draws again only the images without a record, and writes the same
file an uninterrupted run writes; the parts are then removed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from inchi_lightning.chemistry.molgraph import MolGraph
from inchi_lightning.files import atomic_path, write_atomically

ANNOTATIONS_NAME = "train_annotations.jsonl"
PARTS_DIR = ".synth_annotations"  # records of finished chunks, until the file is written


class AnnotationError(ValueError):
    """An annotations file that cannot be read: the message names the file and line."""


def record_line(image_id: str, graph: MolGraph | None, problem: str = "") -> str:
    """One line of the annotations file (newline included): ``image_id`` drawn as ``graph``, or
    without a graph for the reason ``problem``."""
    record: dict = {"image_id": image_id}
    if graph is None:
        record.update(graph=None, problem=problem)
    else:
        record["graph"] = graph.to_dict()
    return json.dumps(record, separators=(",", ":")) + "\n"


def write_part(out_dir: Path, lines: dict[str, str]) -> None:
    """Keep the records ``lines`` (image_id -> record line) of one finished chunk of images.

    The part's name comes from its image ids, so one chunk drawn again replaces its own part.
    """
    if not lines:
        return
    name = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    parts = out_dir / PARTS_DIR
    parts.mkdir(parents=True, exist_ok=True)
    write_atomically(parts / f"{name}.jsonl", "".join(lines.values()))


def recorded_lines(out_dir: Path) -> dict[str, str]:
    """image_id -> record line, from the finished file (if any) then the parts (newer: they
    win). Raises ``AnnotationError`` for a line that is not a record."""
    lines = _read_lines(out_dir / ANNOTATIONS_NAME)
    for part in _parts(out_dir):
        lines.update(_read_lines(part))
    return lines


def write_annotations(out_dir: Path, image_ids: Sequence[str], lines: dict[str, str]) -> None:
    """Write the file of ``image_ids``' records, in that order, then drop the parts it holds.

    Raises ``RuntimeError`` naming an image that has no record: drawing must come first.
    """
    missing = [image_id for image_id in image_ids if image_id not in lines]
    if missing:
        count = len(missing)
        raise RuntimeError(f"no annotation recorded for image {missing[0]} ({count} missing)")
    with atomic_path(out_dir / ANNOTATIONS_NAME) as temporary:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(lines[image_id] for image_id in image_ids)
    remove_parts(out_dir)


def remove_parts(out_dir: Path) -> None:
    """Delete the parts folder (its records are in the finished file), temporaries included."""
    folder = out_dir / PARTS_DIR
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()


def read_annotations(dataset_dir: str | os.PathLike) -> dict[str, MolGraph]:
    """image_id -> the molecule as drawn, for every image of ``dataset_dir`` that has a graph.

    ``dataset_dir`` is the folder of ``train_labels.csv`` (or the annotations file itself).
    Returns {} for a dataset without annotations (Kaggle's download, uspto-300). Raises
    ``AnnotationError`` naming the file and line of anything that is not a record.
    """
    path = Path(dataset_dir)
    path = path if path.is_file() else path / ANNOTATIONS_NAME
    graphs = {}
    for number, line in _numbered_lines(path):
        image_id, graph = _parse(path, number, line)
        if graph is not None:
            graphs[image_id] = graph
    return graphs


# ---------------------------------------------------------------------------------------------


def _parts(out_dir: Path) -> list[Path]:
    folder = out_dir / PARTS_DIR
    return sorted(folder.glob("[!.]*.jsonl")) if folder.is_dir() else []  # not temporaries


def _numbered_lines(path: Path) -> Iterable[tuple[int, str]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        yield from enumerate(handle, start=1)


def _read_lines(path: Path) -> dict[str, str]:
    """image_id -> line of every record in ``path``. The graphs are not rebuilt: this file's
    writers wrote them, atomically; only the JSON and the id are checked."""
    lines = {}
    for number, line in _numbered_lines(path):
        image_id, _ = _parse(path, number, line, graph=False)
        lines[image_id] = line
    return lines


def _parse(path: Path, number: int, line: str, graph: bool = True) -> tuple[str, MolGraph | None]:
    """(image_id, graph or None) of line ``number`` of ``path``; AnnotationError otherwise.

    With ``graph`` False the graph is left unread (None).
    """
    try:
        record = json.loads(line)
        image_id, data = record["image_id"], record["graph"]
        if not isinstance(image_id, str) or not line.endswith("\n"):
            raise ValueError("not a complete record")
        return image_id, None if data is None or not graph else MolGraph.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnnotationError(f"{path}, line {number}: not an annotation record ({exc})") from exc
