"""What both LightningModules share: the training rate they log, and their learning-rate
schedule (linear warm-up, then cosine decay or constant)."""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch


class TrainingRate(L.LightningModule):
    """Logs ``train/images_per_s``: images over the time from one training batch's end to the
    next, data loading included (what a user waits for), validation left out."""

    _last_batch_end: float | None = None

    def on_train_batch_end(self, outputs: Any, batch: dict[str, Any], batch_idx: int) -> None:
        now = time.perf_counter()
        if self._last_batch_end is not None:
            rate = len(batch["image_ids"]) / (now - self._last_batch_end)
            self.log("train/images_per_s", rate, prog_bar=True, on_step=True, on_epoch=False)
        self._last_batch_end = now

    def on_train_epoch_start(self) -> None:
        self._last_batch_end = None

    def on_validation_end(self) -> None:
        self._last_batch_end = None


def stepped(
    optimizer: torch.optim.Optimizer, kind: str, warmup_steps: int, trainer: L.Trainer
) -> dict[str, Any]:
    """``configure_optimizers``' answer: ``optimizer`` with ``warmup_then``'s factor applied
    at every step of the run."""
    total = max(int(trainer.estimated_stepping_batches), 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then(kind, warmup_steps, total))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def warmup_then(kind: str, warmup_steps: int, total_steps: int):
    """Learning-rate factor per step: linear warm-up, then cosine decay or constant."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor
