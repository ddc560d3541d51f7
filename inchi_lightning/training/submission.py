"""Writing predictions as a Kaggle submission: ``image_id,InChI``, one row per input image."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter

from inchi_lightning.files import atomic_path

HEADER = ("image_id", "InChI")


class SubmissionWriter(BasePredictionWriter):
    """Appends each batch's predictions to the submission CSV as they come.

    Memory stays flat however many images there are (the CLI also runs predict with
    ``return_predictions`` false). Rows go to a temporary file beside ``output`` that takes its
    name only when the run completes, so an interrupted run never leaves a partial submission
    under that name. Rows are written by the global-zero process (predict runs in one process).

    Args:
        output: the CSV to write.
    """

    def __init__(self, output: str = "submission.csv") -> None:
        super().__init__(write_interval="batch")
        self.output = output
        self._handle: TextIO | None = None
        self._partial = ExitStack()  # the output's atomic_path while a run writes it
        self._rows = self._unreadable = 0

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        Path(self.output).parent.mkdir(parents=True, exist_ok=True)
        partial = self._partial.enter_context(atomic_path(self.output))
        self._handle = partial.open("w", newline="")
        csv.writer(self._handle).writerow(HEADER)
        self._rows = self._unreadable = 0

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: list[dict[str, Any]],
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if self._handle is None:
            return
        csv.writer(self._handle).writerows((row["image_id"], row["InChI"]) for row in prediction)
        self._rows += len(prediction)
        self._unreadable += sum(1 for row in prediction if not row["InChI"])

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._handle is None:
            return
        self._handle.close()
        self._handle = None
        self._partial.close()  # synced and renamed to output
        note = f" ({self._unreadable} unreadable)" if self._unreadable else ""
        print(f"wrote {self._rows} predictions to {self.output}{note}")

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            # The temporary file is removed; the exception goes on from Lightning, not here.
            self._partial.__exit__(type(exception), exception, exception.__traceback__)
