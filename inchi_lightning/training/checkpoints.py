"""Checkpoint files written in training: ``last.ckpt`` for resuming, the model class named in
every checkpoint, and releases (fp16, one checkpoint or the mean of several). Reading a file
and checking that it is one of ours is ``reading.checkpoint``'s.

Every checkpoint is read with ``torch.load(weights_only=True)``: tensors and plain values only,
so a file that would need arbitrary unpickling (which can run code) is refused, never executed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn

from inchi_lightning.files import atomic_path
from inchi_lightning.reading.checkpoint import (
    CLASS_PATH_KEY,
    check_checkpoint,
    model_class_path,
)

LAST_NAME = "last"
# ckpt_path values that Lightning resolves itself, from the checkpoint callbacks' directories.
LIGHTNING_CKPT_KEYWORDS = ("last", "best", "hpc")


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt``: the latest training state, which ``fit --ckpt_path last`` resumes from.

    Rewritten after every validation, and every ``every_n_train_steps`` optimizer steps when
    that is set (then an interrupted long epoch loses at most that many steps), and once more
    when training ends between two saves (``max_steps``, ``max_time``). The save after a
    validation comes after the best checkpoint's verdict on it (checkpoint callbacks run in the
    order given, the CLI's best one first), so the file always knows the best score so far: one
    saved only at the step before, resumed, would hold an older best, and the first validation
    after the resume would replace ``best.ckpt`` by any model better than that.

    Args:
        dirpath: the directory; the CLI links it to ``checkpoint.dirpath``.
        every_n_train_steps: steps between saves; 0 saves after each validation instead.
    """

    def __init__(self, dirpath: str | None = None, every_n_train_steps: int = 0) -> None:
        # No monitor and top-1: every save replaces the one file, named last.ckpt.
        super().__init__(
            dirpath=dirpath,
            filename=LAST_NAME,
            monitor=None,
            save_top_k=1,
            save_last=False,
            enable_version_counter=False,
            every_n_train_steps=every_n_train_steps or None,
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._every_n_train_steps:
            super().on_validation_end(trainer, pl_module)
            return
        # Even at a step saved already: the state of the other callbacks has moved since.
        fitting = trainer.state.fn == TrainerFn.FITTING
        if fitting and not trainer.sanity_checking and not trainer.fast_dev_run:
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))


def checkpoint_to_load(ckpt_path: str | None, dirpath: str | None) -> Path | None:
    """The local file that a ``--ckpt_path`` value makes Lightning load, where we can tell.

    ``last`` is ``DIRPATH/last.ckpt`` (None before the first save: the run starts afresh);
    ``best``, ``hpc``, registry names and URLs are Lightning's to resolve (None).
    """
    if not ckpt_path:
        return None
    if ckpt_path == LAST_NAME:
        last = Path(dirpath or ".", f"{LAST_NAME}.ckpt")
        return last if last.is_file() else None
    if (
        ckpt_path in LIGHTNING_CKPT_KEYWORDS
        or ckpt_path.startswith("registry")
        or ("://" in ckpt_path)
    ):
        return None
    return Path(ckpt_path)


def plain_hyperparameters(checkpoint: dict, module: L.LightningModule) -> None:
    """Store a checkpoint's dataclass hyperparameters as dicts (``on_save_checkpoint``), so
    that it loads with ``torch.load(weights_only=True)``; the modules read both forms back.

    The module's class goes in too, as LightningCLI stores it, so that every checkpoint says
    which model it holds, whether the CLI, a script or a Ray worker wrote it."""
    hparams = {
        key: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        for key, value in checkpoint["hyper_parameters"].items()
    }
    hparams.setdefault(CLASS_PATH_KEY, f"{type(module).__module__}.{type(module).__qualname__}")
    checkpoint["hyper_parameters"] = hparams


# What a released checkpoint keeps: enough to read images, nothing to resume training from.
RELEASE_KEYS = ("state_dict", "hyper_parameters", "pytorch-lightning_version", "global_step")


def release_checkpoint(
    sources: str | Path | Sequence[str | Path],
    target: str | Path,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model as a release: one checkpoint's, or the mean of several's weights
    (``mean_checkpoint``); floating weights in fp16, no optimiser or loop state, atomically. It
    loads like any checkpoint (weights go back to the model's dtype). ``settings`` (reading
    hyperparameters such as ``threshold``) replace the source's (the first one's).

    Raises as ``check_checkpoint`` does for a file that is not one of this project's, and as
    ``mean_checkpoint`` does for several that cannot be averaged.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    checkpoint = _load(sources[0]) if len(sources) == 1 else mean_checkpoint(sources)
    checkpoint["hyper_parameters"].update(settings or {})
    release = {key: checkpoint[key] for key in RELEASE_KEYS if key in checkpoint}
    release["state_dict"] = {
        name: tensor.half() if tensor.is_floating_point() else tensor
        for name, tensor in checkpoint["state_dict"].items()
    }
    with atomic_path(target) as temporary:
        torch.save(release, temporary)
    return Path(target)


def _load(source: str | Path) -> dict:
    check_checkpoint(source)
    return torch.load(source, map_location="cpu", weights_only=True)


def mean_checkpoint(sources: Sequence[str | Path]) -> dict:
    """The first of ``sources``' checkpoints with the mean of all their weights.

    A weight average ("model soup") of fine-tunes from the same weights: they stay in one
    basin, where their mean often reads better than each of them. Floating tensors are averaged
    in fp32 and kept in the first's dtype; integer ones (BatchNorm's batch counts) are the
    first's.

    Raises:
        ValueError: fewer than two sources, or checkpoints of different models or weight
            shapes; and as ``check_checkpoint`` does for a file that is not one of ours.
    """
    if len(sources) < 2:
        raise ValueError("averaging needs at least two checkpoints")
    classes = {model_class_path(check_checkpoint(source)) for source in sources}
    if len(classes) > 1:
        raise ValueError(f"the checkpoints hold different models: {', '.join(sorted(classes))}")
    first = torch.load(sources[0], map_location="cpu", weights_only=True)  # checked above
    weights = first["state_dict"]
    shapes = {name: t.shape for name, t in weights.items()}
    sums = {name: t.float() for name, t in weights.items() if t.is_floating_point()}
    for source in sources[1:]:
        other = torch.load(source, map_location="cpu", weights_only=True)["state_dict"]
        if {name: t.shape for name, t in other.items()} != shapes:
            raise ValueError(f"{source} holds weights of other names or shapes than {sources[0]}")
        for name in sums:
            sums[name] += other[name].float()
    first["state_dict"] = {
        name: (sums[name] / len(sources)).to(t.dtype) if name in sums else t
        for name, t in weights.items()
    }
    return first
