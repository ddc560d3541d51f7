"""The image encoder: a torchvision ResNet reading one-channel drawings, with its weight options.

A plain ``nn.Module``; the captioner and the graph recogniser both build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torchvision import models
from torchvision.models import ResNet

RESNETS: dict[str, tuple[Callable[..., ResNet], models.WeightsEnum]] = {
    "resnet18": (models.resnet18, models.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (models.resnet34, models.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (models.resnet50, models.ResNet50_Weights.IMAGENET1K_V2),
}


def ink(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) uint8 scans, white paper → what the encoders read: float, ink = 1, paper = 0."""
    return 1.0 - images.float() / 255.0


@dataclass
class EncoderConfig:
    """The image encoder.

    Args:
        name: ResNet depth: resnet18, resnet34 or resnet50.
        weights: initial weights: none (random), imagenet (torchvision download) or the path of
            a local .pth state dict (torchvision's file, for offline machines).
        trainable: False freezes the encoder: its weights and its batch-norm statistics.
        channels_last: run the convolutions on NHWC tensors, the layout oneDNN's CPU kernels
            (and GPU tensor cores) prefer; the weights and checkpoints are the same either way.
    """

    name: Literal["resnet18", "resnet34", "resnet50"] = "resnet50"
    weights: str = "none"
    trainable: bool = True
    channels_last: bool = False


class ResNetEncoder(nn.Module):
    """A torchvision ResNet without its pooling and classifier, reading one-channel images.

    Input: (B, 1, H, W) float, ink = 1, background = 0. Output: (B, C, H/32, W/32) with
    C = ``out_channels`` (512 for resnet18/34, 2048 for resnet50).

    Pretrained weights keep their meaning on gray input: conv1's RGB filters are summed, which is
    what the RGB network computes on an image whose three channels are equal.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if config.name not in RESNETS:
            raise ValueError(f"unknown encoder {config.name!r}; choose one of {sorted(RESNETS)}")
        self.config = config
        build, _ = RESNETS[config.name]
        resnet = build(weights=None)
        # Keep torchvision's attribute names, so that this module's state dict is a torchvision
        # ResNet state dict without ``fc.*`` (and with a one-channel conv1).
        self.conv1 = one_channel_conv(resnet.conv1)
        self.bn1, self.relu, self.maxpool = resnet.bn1, resnet.relu, resnet.maxpool
        self.layer1, self.layer2 = resnet.layer1, resnet.layer2
        self.layer3, self.layer4 = resnet.layer3, resnet.layer4
        self.out_channels: int = resnet.fc.in_features

        pretrained = pretrained_state_dict(config)
        if pretrained is not None:
            self.load_state_dict(one_channel_trunk(pretrained))
        if not config.trainable:
            self.requires_grad_(False)
        if config.channels_last:
            self.to(memory_format=torch.channels_last)

    def train(self, mode: bool = True) -> ResNetEncoder:
        # A frozen encoder also keeps its batch-norm running statistics.
        return super().train(mode and self.config.trainable)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.config.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))  # (B, 64, H/4, W/4)
        x = self.layer2(self.layer1(x))  # (B, C/4, H/8, W/8)
        return self.layer4(self.layer3(x))  # (B, C, H/32, W/32)

    def stages(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The four stages' outputs, for dense heads: strides 4, 8, 16 and 32.

        Channels are C/8, C/4, C/2 and C (C = ``out_channels``); the last is ``forward``'s output.
        """
        if self.config.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        outputs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outputs.append(x)
        return outputs


def one_channel_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """A copy of an RGB convolution for one-channel input, its filters summed over RGB."""
    gray = nn.Conv2d(
        1,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        gray.weight.copy_(conv.weight.sum(dim=1, keepdim=True))  # (64, 1, 7, 7)
        if conv.bias is not None:
            gray.bias.copy_(conv.bias)
    return gray


def one_channel_trunk(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A torchvision ResNet state dict as ``ResNetEncoder`` holds it: no fc, gray conv1."""
    trunk = {key: value for key, value in state_dict.items() if not key.startswith("fc.")}
    # Summing a one-channel conv1 (a saved ResNetEncoder) over dim 1 leaves it unchanged.
    trunk["conv1.weight"] = trunk["conv1.weight"].sum(dim=1, keepdim=True)  # (64, 1, 7, 7)
    return trunk


def pretrained_state_dict(config: EncoderConfig) -> dict[str, torch.Tensor] | None:
    """The RGB state dict that ``config.weights`` names, or None for random weights.

    Raises:
        RuntimeError: ImageNet weights could not be downloaded (offline); the message names the
            local-path alternative.
        FileNotFoundError: a weights path that does not exist.
    """
    if config.weights == "none":
        return None
    if config.weights == "imagenet":
        _, weights = RESNETS[config.name]
        try:
            return weights.get_state_dict(progress=False)
        except OSError as error:  # urllib's URLError is an OSError
            raise RuntimeError(
                f"could not download ImageNet weights for {config.name} ({error}); offline, "
                f"fetch {weights.url} elsewhere and set `weights: /path/to/{config.name}.pth`"
            ) from error
    path = Path(config.weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"encoder weights {path} not found: use none, imagenet or a .pth state dict path"
        )
    return torch.load(path, map_location="cpu", weights_only=True)
