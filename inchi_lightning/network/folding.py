"""Batch norms folded into the convolutions before them, for reading.

In eval mode a batch norm is an affine map per channel, so a convolution followed by one is a
convolution with rescaled weights and a bias: one pass over the feature map instead of two.
Reading the shipped model spends about a tenth of its network time in batch norms.
"""

from __future__ import annotations

import re

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """``module`` (in eval mode) with every ``BatchNorm2d`` that directly follows a ``Conv2d``
    folded into it and replaced by ``nn.Identity``, in place; returned for chaining.

    "Directly follows": the next item of an ``nn.Sequential``, or a sibling ``bnN`` beside
    ``convN`` (torchvision's ResNet and its blocks). Other batch norms are left as they are.

    Raises:
        ValueError: ``module`` is in training mode, where batch norms use batch statistics.
    """
    if module.training:
        raise ValueError("fold batch norms in eval mode only: training normalises by batch")
    for parent in list(module.modules()):
        for conv_name, bn_name in _conv_bn_pairs(parent):
            conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
            setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(parent, bn_name, nn.Identity())
    return module


def _conv_bn_pairs(parent: nn.Module) -> list[tuple[str, str]]:
    children = dict(parent.named_children())
    if isinstance(parent, nn.Sequential):
        names = list(children)
        pairs = zip(names, names[1:], strict=False)
    else:
        pairs = (
            (f"conv{match[1]}", name)
            for name in children
            if (match := re.fullmatch(r"bn(\d+)", name))
        )
    return [
        (conv, bn)
        for conv, bn in pairs
        if isinstance(children.get(conv), nn.Conv2d) and isinstance(children[bn], nn.BatchNorm2d)
    ]
