"""Helpers for tests that write SMILES lists for synth and read back the labels it wrote."""

from __future__ import annotations

import csv
from pathlib import Path

from inchi_lightning.prep import synth


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def synth_labels(out_dir: Path) -> list[dict[str, str]]:
    """The rows of the labels file ``synthesise`` wrote in ``out_dir``."""
    with (out_dir / synth.LABELS_NAME).open(newline="") as handle:
        return list(csv.DictReader(handle))
