"""Checkpoints saved before classes were appended to a classifier, loaded into today's model.

Class lists only ever grow at their end (``molgraph``: new group labels are appended, never
inserted), so a checkpoint's rows keep their meaning and only the new rows are missing. They are
added as classes the old model does not choose (zero weights, a bias below any logit a trained
row gives), so an old checkpoint reads as before, and a fit resumed from it learns them:
cross-entropy pulls a new class's logit up wherever it is the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

# Low enough never to win, high enough to be learnt. Measured on the model shipped before the
# first growth: its best logit was above -0.5 at every pixel of 48 held-out drawings (above 1.3
# at every atom centre). From -20 a resumed fit had moved the new biases by 0.05 in 400 steps:
# rare classes get few, sporadic gradients, and Adam moves a parameter by at most lr per step.
APPENDED_CLASS_BIAS = -6.0


def grow_appended_classes(
    checkpoint: dict[str, Any], module: nn.Module, layers: Sequence[str]
) -> dict[str, int]:
    """Pad ``checkpoint`` in place where ``module`` has more classes in ``layers``.

    Args:
        checkpoint: a Lightning checkpoint (``state_dict``; ``optimizer_states`` if it has them,
            from optimizers built over ``module.parameters()`` in their order, whose per-
            parameter state tensors are shaped like the parameter, as Adam's are).
        module: the model the checkpoint is loaded into.
        layers: names in ``module`` of classifier layers with one output row per class
            (``weight`` and ``bias`` along dim 0), e.g. ``"net.atom_head"``.

    Returns:
        ``{layer: classes added}`` for each layer that grew.
    """
    state = checkpoint["state_dict"]
    parameters = dict(module.named_parameters())
    positions = {name: index for index, name in enumerate(parameters)}
    grown = {}
    for layer in layers:
        weight, bias = f"{layer}.weight", f"{layer}.bias"
        saved, wanted = state[weight].shape[0], parameters[weight].shape[0]
        if saved >= wanted:
            continue  # as many classes, or more: load_state_dict says what is wrong
        added = wanted - saved
        state[weight] = _padded(state[weight], added, 0.0)
        state[bias] = _padded(state[bias], added, APPENDED_CLASS_BIAS)
        for optimizer in checkpoint.get("optimizer_states", ()):
            for name in (weight, bias):
                _pad_optimizer_state(optimizer, positions[name], saved, added)
        grown[layer] = added
    return grown


def _padded(tensor: torch.Tensor, added: int, value: float) -> torch.Tensor:
    rows = tensor.new_full((added, *tensor.shape[1:]), value)
    return torch.cat([tensor, rows])


def _pad_optimizer_state(optimizer: dict[str, Any], position: int, saved: int, added: int) -> None:
    # Zero moments for the new rows: what a fresh optimizer would start them with.
    for key, value in optimizer["state"].get(position, {}).items():
        if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == saved:
            optimizer["state"][position][key] = _padded(value, added, 0.0)
