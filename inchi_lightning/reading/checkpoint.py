"""Reading a checkpoint file of this project: the check that a file is one of ours, and the
model class it names.

Every checkpoint is read with ``torch.load(weights_only=True)``: tensors and plain values only,
so a file that would need arbitrary unpickling (which can run code) is refused, never executed.
Nothing here imports Lightning: reading an image needs a checkpoint, not the training layer.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

PACKAGE = "inchi_lightning"
GRAPH_CLASS_PATH = "inchi_lightning.training.graph_module.GraphModule"
# Checkpoints written before they named their model hold the captioner, with its vocabulary.
CAPTIONER_CLASS_PATH = "inchi_lightning.training.captioner_module.CaptionerModule"
CLASS_PATH_KEY = "_class_path"  # where LightningCLI keeps a module's class among its hparams
# The names the two LightningModules had before 0.16.0 (the shipped model's file still says the
# first): a checkpoint that names one holds the model of the new name.
RENAMED_CLASS_PATHS = {
    "inchi_lightning.training.graph_module.GraphReader": GRAPH_CLASS_PATH,
    "inchi_lightning.training.module.InChICaptioner": CAPTIONER_CLASS_PATH,
}


def check_checkpoint(path: str | Path) -> dict:
    """Refuse, with a one-line error, any file that is not a readable inchi_lightning checkpoint;
    return its hyperparameters.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is corrupted, holds pickled objects, or is not an inchi_lightning
            checkpoint (a plain state dict, another project's checkpoint).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    not_ours = f"{path} is not an inchi_lightning checkpoint"
    # torch.save writes a zip archive; a truncated or garbled file has no readable directory.
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{not_ours}: not a PyTorch checkpoint, or a corrupted one")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{not_ours}: it holds pickled objects other than tensors and plain values, which "
            "are never loaded since loading them can run code"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"{not_ours}: unreadable ({str(exc).splitlines()[0]})") from exc
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{not_ours}: it holds no Lightning model weights")
    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(hparams, dict) or not model_class_path(hparams).startswith(PACKAGE + "."):
        raise ValueError(f"{not_ours}: its hyperparameters name no inchi_lightning model")
    if model_class_path(hparams) == CAPTIONER_CLASS_PATH and not hparams.get("vocabulary"):
        raise ValueError(f"{not_ours}: its hyperparameters have no InChI vocabulary")
    return hparams


def model_class_path(hparams: dict) -> str:
    """The module class a checkpoint's hyperparameters belong to, as ``package.module.Class``
    (by its current name)."""
    if CLASS_PATH_KEY in hparams:
        named = str(hparams[CLASS_PATH_KEY])
        return RENAMED_CLASS_PATHS.get(named, named)
    return CAPTIONER_CLASS_PATH if hparams.get("vocabulary") else ""


def as_dataclass(cls: type, value: Any) -> Any:
    """Accept a dataclass or its ``asdict`` form (how checkpoints store hyperparameters)."""
    return cls(**value) if isinstance(value, dict) else value
