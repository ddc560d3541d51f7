"""Writing predictions as a Kaggle submission: ``image_id,InChI``, one row per input image."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter


def write_submission(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write ``rows`` (dicts with ``image_id`` and ``InChI``) atomically, in the given order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "InChI"])
        writer.writerows((row["image_id"], row["InChI"]) for row in rows)
    os.replace(tmp, path)
    return path


class SubmissionWriter(BasePredictionWriter):
    """Collects ``predict`` results and writes the submission CSV once the run ends.

    Args:
        output: the CSV to write.
    """

    def __init__(self, output: str = "submission.csv") -> None:
        super().__init__(write_interval="epoch")
        self.output = output

    def write_on_epoch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        predictions: list[Any],
        batch_indices: list[Any],
    ) -> None:
        rows = [row for batch in predictions for row in batch]
        if not trainer.is_global_zero:
            return
        path = write_submission(rows, self.output)
        failed = sum(1 for row in rows if not row["InChI"])
        print(
            f"wrote {len(rows)} predictions to {path}"
            + (f" ({failed} unreadable)" if failed else "")
        )
