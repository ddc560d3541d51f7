"""The ``image_id,InChI`` CSV: the one reader and writer of labels, plans and submissions.

Read as Excel and Kaggle write it: a byte-order mark is skipped, quoted fields are unquoted, and
a file without both columns is refused naming what is missing. An image id names a file in its
folder, never a path: a row whose id could reach outside the folder (``../../secret``) is a
reject with its reason, so no reader opens an image from elsewhere.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inchi_lightning.files import write_atomically
from inchi_lightning.shards import Reject

COLUMNS = ("image_id", "InChI")


class LabelsFileError(ValueError):
    """A labels file that cannot be read as one: missing, or without its two columns."""


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled row; ``row`` is its 0-based position among the data rows."""

    row: int
    image_id: str
    inchi: str


def image_id_problem(image_id: str) -> str | None:
    """Why ``image_id`` cannot name an image file in its folder (a reject reason), or None."""
    if not image_id:
        return "empty image_id"
    if "/" in image_id or "\\" in image_id or image_id in (".", "..") or "\0" in image_id:
        return "image_id is a path, not a file name"
    return None


def read_labels(path: str | os.PathLike) -> tuple[list[Row], list[Reject]]:
    """The rows of a labels file whose ids can name an image, and rejects for the others.

    Raises:
        LabelsFileError: no such file, or no ``image_id`` or ``InChI`` column.
    """
    rows, rejects = [], []
    for row in _all_rows(Path(path)):
        problem = image_id_problem(row.image_id)
        if problem:
            rejects.append((row.row, row.image_id, problem))
        else:
            rows.append(row)
    return rows, rejects


def read_pairs(path: str | os.PathLike) -> dict[str, str]:
    """``image_id -> InChI`` of the usable rows (the last row of an id wins)."""
    rows, _ = read_labels(path)
    return {row.image_id: row.inchi for row in rows}


def write_pairs(path: str | os.PathLike, pairs: Iterable[tuple[str, str]]) -> Path:
    """Write ``image_id,InChI`` rows with their header, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(pairs)
    return write_atomically(path, buffer.getvalue())


def _all_rows(path: Path) -> list[Row]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise LabelsFileError(f"no labels file {path}") from error
    with handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise LabelsFileError(f"{path} has no {' or '.join(sorted(missing))} column")
        return [
            Row(n, record["image_id"] or "", record["InChI"] or "")
            for n, record in enumerate(reader)
        ]
