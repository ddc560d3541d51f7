"""The model that ships with the package: a graph recogniser's checkpoint in fp16.

``predict`` and ``evaluate`` read it when no ``--ckpt_path`` is given. It is an ordinary
checkpoint of this project (it names its model, carries its clean() settings) with the
weights in half precision and no optimiser state, so it stays one file of under 30 MB;
``release_checkpoint`` (training/checkpoints.py) writes it from a trained checkpoint, and
README.md says which recipe, budget and numbers the shipped one has.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_NAME = "graph-resnet18-256.ckpt"
SHIPPED_MODEL = Path(__file__).parent / "models" / SHIPPED_NAME
SHIPPED_KEYWORD = "shipped"  # what a config writes for it (GraphModule's init_weights)


def shipped_model() -> Path | None:
    """The shipped checkpoint, or None in a checkout or install without one."""
    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else None


def require_shipped_model() -> Path:
    """The shipped checkpoint, for a command that reads images without a ``--ckpt_path``.

    Raises:
        FileNotFoundError: this checkout or install has no shipped model.
    """
    if not SHIPPED_MODEL.is_file():
        raise FileNotFoundError(
            f"no model ships with this install ({SHIPPED_MODEL}): give --ckpt_path"
        )
    return SHIPPED_MODEL
