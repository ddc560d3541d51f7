"""Readings written as files: the Kaggle submission CSV (``image_id,InChI`` and any of
confidence, SMILES and error beside), and an SDF of the molecules with their read coordinates.

Rows are written as they come, so memory stays flat over a million images; each file goes to a
temporary name beside its own and takes that name only when the run completes
(``files.atomic_path``): an interrupted run never leaves a partial file under the final name.
"""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from inchi_lightning.files import atomic_path
from inchi_lightning.reading.readings import Reading

EXTRA_COLUMNS = ("confidence", "smiles", "error")


class ReadingWriter:
    """Writes readings to a submission CSV and, optionally, an SDF; a context manager.

    Args:
        output: the CSV: ``image_id,InChI``, then ``columns`` in the order given.
        columns: any of ``EXTRA_COLUMNS``.
        sdf: an SDF to write too: each molecule read, its mol block (coordinates in the image's
            pixels), ``image_id`` and ``InChI`` fields; images with no molecule are left out.

    Raises:
        ValueError: an unknown column.
    """

    def __init__(
        self, output: str | Path, columns: tuple[str, ...] = (), sdf: str | Path | None = None
    ) -> None:
        unknown = [c for c in columns if c not in EXTRA_COLUMNS]
        if unknown:
            raise ValueError(
                f"unknown column {unknown[0]!r}: choose from {', '.join(EXTRA_COLUMNS)}"
            )
        self.output, self.columns, self.sdf = Path(output), tuple(columns), sdf
        self.rows = self.unread = 0
        self._files = ExitStack()
        self._csv: csv.writer | None = None
        self._sdf: TextIO | None = None

    def __enter__(self) -> ReadingWriter:
        self._csv = csv.writer(self._open(self.output), lineterminator="\n")
        self._csv.writerow(("image_id", "InChI", *self.columns))
        if self.sdf is not None:
            self._sdf = self._open(Path(self.sdf))
        return self

    def _open(self, path: Path) -> TextIO:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._files.enter_context(atomic_path(path))
        return self._files.enter_context(temporary.open("w", newline="", encoding="utf-8"))

    def write(self, image_id: str, reading: Reading) -> None:
        """One image's row (and SDF record)."""
        values = {
            "confidence": f"{reading.confidence:.4f}",
            "smiles": reading.smiles,
            "error": reading.error,
        }
        self._csv.writerow((image_id, reading.inchi, *(values[c] for c in self.columns)))
        self.rows += 1
        self.unread += bool(reading.error)
        if self._sdf is not None and reading.molfile:
            self._sdf.write(sdf_record(image_id, reading))

    def __exit__(self, exc_type: type | None, *exc_info: object) -> None:
        # Closing an atomic_path renames it into place unless the run failed.
        self._files.__exit__(exc_type, *exc_info)


def sdf_record(image_id: str, reading: Reading) -> str:
    """One SDF record: the mol block titled by ``image_id``, with image_id, InChI, SMILES and
    confidence as data fields."""
    lines = reading.molfile.split("\n")
    lines[0] = image_id  # the mol block's title line
    block = "\n".join(lines).rstrip("\n")
    fields = {
        "image_id": image_id,
        "InChI": reading.inchi,
        "SMILES": reading.smiles,
        "confidence": f"{reading.confidence:.4f}",
    }
    data = "".join(f">  <{name}>\n{value}\n\n" for name, value in fields.items())
    return f"{block}\n{data}$$$$\n"
