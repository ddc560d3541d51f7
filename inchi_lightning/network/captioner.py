"""The captioning network: a ResNet encoder, two LSTM decoders, and the Captioner that joins them
(its searches are in search.py).

Plain ``nn.Module``s and functions of tensors; ``module.py`` wires them to Lightning.

Shapes: B batch, C encoder channels, h×w feature map, P = h*w positions, T tokens, V vocabulary,
E embedding, H LSTM hidden, A attention, k beams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models
from torchvision.models import ResNet

from inchi_lightning.search import State, beam_search, greedy_decode

RESNETS: dict[str, tuple[Callable[..., ResNet], models.WeightsEnum]] = {
    "resnet18": (models.resnet18, models.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (models.resnet34, models.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (models.resnet50, models.ResNet50_Weights.IMAGENET1K_V2),
}


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


@dataclass
class DecoderConfig:
    """The token decoder.

    Args:
        attention: attend over the feature map at every step (Show, Attend and Tell) instead of
            starting from its average.
        embed_dim: token embedding size.
        hidden_dim: LSTM hidden size.
        attention_dim: hidden size of the additive attention (attention decoder only).
        dropout: dropout on embeddings and on the LSTM output before the vocabulary projection.
    """

    attention: bool = False
    embed_dim: int = 256
    hidden_dim: int = 512
    attention_dim: int = 256
    dropout: float = 0.1


# ---- encoder ---------------------------------------------------------------------------------


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


# ---- decoders --------------------------------------------------------------------------------


class LSTMDecoder(nn.Module):
    """The pooled image feature initialises an LSTM that reads token embeddings.

    Training runs one fused ``nn.LSTM`` over the whole sequence; decoding runs the same LSTM one
    step at a time.
    """

    def __init__(self, vocab_size: int, feature_dim: int, config: DecoderConfig, pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, config.embed_dim, padding_idx=pad_id)
        self.init_h = nn.Linear(feature_dim, config.hidden_dim)
        self.init_c = nn.Linear(feature_dim, config.hidden_dim)
        self.lstm = nn.LSTM(config.embed_dim, config.hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_dim, vocab_size)

    def forward(self, features: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (B, C, h, w) features and (B, T) tokens → (B, T-1, V) logits.

        The logits at position t predict ``tokens[:, t + 1]`` from ``tokens[:, : t + 1]``.
        """
        h, c = self.init_state(features)  # (B, H) each
        x = self.dropout(self.embed(tokens[:, :-1]))  # (B, T-1, E)
        out, _ = self.lstm(x, (h.unsqueeze(0), c.unsqueeze(0)))  # (B, T-1, H)
        return self.head(self.dropout(out))  # (B, T-1, V)

    def init_state(self, features: torch.Tensor) -> State:
        pooled = features.mean(dim=(2, 3))  # (B, C)
        return self.init_h(pooled), self.init_c(pooled)  # (B, H), (B, H)

    def step(self, prev_tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State, None]:
        h, c = state  # (B, H) each
        x = self.dropout(self.embed(prev_tokens)).unsqueeze(1)  # (B, 1, E)
        out, (h, c) = self.lstm(x, (h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()))
        log_probs = F.log_softmax(self.head(self.dropout(out[:, 0])), dim=-1)  # (B, V)
        return log_probs, (h[0], c[0]), None


class AttentionLSTMDecoder(nn.Module):
    """Show, Attend and Tell: at each step the LSTM reads the token and a gated, attended context.

    Attention is additive (Bahdanau) over the P = h*w feature positions. The memory's projection
    into attention space is computed once per sequence and carried in the state.
    """

    def __init__(self, vocab_size: int, feature_dim: int, config: DecoderConfig, pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, config.embed_dim, padding_idx=pad_id)
        self.init_h = nn.Linear(feature_dim, config.hidden_dim)
        self.init_c = nn.Linear(feature_dim, config.hidden_dim)
        self.memory_proj = nn.Linear(feature_dim, config.attention_dim)
        self.hidden_proj = nn.Linear(config.hidden_dim, config.attention_dim)
        self.score = nn.Linear(config.attention_dim, 1)
        # f_beta: how much of the context to let through, given what has been written so far.
        self.gate = nn.Linear(config.hidden_dim, feature_dim)
        self.cell = nn.LSTMCell(config.embed_dim + feature_dim, config.hidden_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_dim, vocab_size)

    def forward(self, features: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (B, C, h, w) features and (B, T) tokens → (B, T-1, V) logits."""
        return self.forward_with_attention(features, tokens)[0]

    def forward_with_attention(
        self, features: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing, also returning the attention maps: (B, T-1, V), (B, T-1, P).

        Attention at step t sums to 1 over the P positions; reshape to (h, w) to show it.
        """
        state = self.init_state(features)
        x = self.dropout(self.embed(tokens[:, :-1]))  # (B, T-1, E)
        hiddens, attentions = [], []
        for t in range(x.size(1)):
            state, attention = self._advance(x[:, t], state)
            hiddens.append(state[0])
            attentions.append(attention)
        hidden = torch.stack(hiddens, dim=1)  # (B, T-1, H)
        # One projection for all steps: a single large matmul instead of T-1 small ones.
        return self.head(self.dropout(hidden)), torch.stack(attentions, dim=1)

    def init_state(self, features: torch.Tensor) -> State:
        memory = features.flatten(2).transpose(1, 2)  # (B, P, C)
        pooled = memory.mean(dim=1)  # (B, C)
        projected = self.memory_proj(memory)  # (B, P, A)
        return self.init_h(pooled), self.init_c(pooled), memory, projected

    def step(
        self, prev_tokens: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State, torch.Tensor]:
        x = self.dropout(self.embed(prev_tokens))  # (B, E)
        state, attention = self._advance(x, state)
        log_probs = F.log_softmax(self.head(self.dropout(state[0])), dim=-1)  # (B, V)
        return log_probs, state, attention

    def _advance(self, x: torch.Tensor, state: State) -> tuple[State, torch.Tensor]:
        """One LSTM step from embedded tokens (B, E); returns the new state and (B, P) attention."""
        h, c, memory, projected = state  # (B, H), (B, H), (B, P, C), (B, P, A)
        energy = torch.tanh(projected + self.hidden_proj(h).unsqueeze(1))  # (B, P, A)
        attention = F.softmax(self.score(energy).squeeze(2), dim=1)  # (B, P)
        context = torch.bmm(attention.unsqueeze(1), memory).squeeze(1)  # (B, C)
        context = torch.sigmoid(self.gate(h)) * context  # (B, C)
        h, c = self.cell(torch.cat([x, context], dim=1), (h, c))  # (B, H) each
        return (h, c, memory, projected), attention


def build_decoder(
    vocab_size: int, feature_dim: int, config: DecoderConfig, pad_id: int = 0
) -> LSTMDecoder | AttentionLSTMDecoder:
    """The decoder that ``config.attention`` selects."""
    kind = AttentionLSTMDecoder if config.attention else LSTMDecoder
    return kind(vocab_size, feature_dim, config, pad_id=pad_id)


# ---- the whole network -----------------------------------------------------------------------


class Captioner(nn.Module):
    """Images → token sequences: ``ResNetEncoder`` then an LSTM decoder.

    Images are (B, 1, H, W) float, ink = 1, background = 0. Decoding runs without gradients;
    call ``eval()`` first so that dropout is off.
    """

    def __init__(
        self,
        vocab_size: int,
        encoder: EncoderConfig,
        decoder: DecoderConfig,
        pad_id: int = 0,
        sos_id: int = 1,
        eos_id: int = 2,
    ) -> None:
        super().__init__()
        self.pad_id, self.sos_id, self.eos_id = pad_id, sos_id, eos_id
        self.encoder = ResNetEncoder(encoder)
        self.decoder = build_decoder(vocab_size, self.encoder.out_channels, decoder, pad_id)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) images → (B, C, h, w) features; encode once, decode several ways."""
        return self.encoder(images)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (B, T) tokens starting with <sos> → (B, T-1, V) logits of the next."""
        return self.decoder(self.encode(images), tokens)

    @torch.no_grad()
    def greedy(self, images: torch.Tensor, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) tokens and (B,) mean token log-probabilities; see ``greedy_decode``."""
        return greedy_decode(
            self.decoder,
            self.encode(images),
            sos_id=self.sos_id,
            eos_id=self.eos_id,
            pad_id=self.pad_id,
            max_length=max_length,
        )

    @torch.no_grad()
    def beam(
        self,
        images: torch.Tensor,
        max_length: int,
        beam_width: int = 4,
        length_penalty: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, k, L) tokens and (B, k) normalised scores, best first; see ``beam_search``."""
        return beam_search(
            self.decoder,
            self.encode(images),
            sos_id=self.sos_id,
            eos_id=self.eos_id,
            pad_id=self.pad_id,
            max_length=max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
