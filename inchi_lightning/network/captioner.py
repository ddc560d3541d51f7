"""The captioning network: a ResNet encoder, two LSTM decoders, and the Captioner that joins them
(its searches are in search.py).

Plain ``nn.Module``s and functions of tensors; ``module.py`` wires them to Lightning.

Shapes: B batch, C encoder channels, h×w feature map, P = h*w positions, T tokens, V vocabulary,
E embedding, H LSTM hidden, A attention, k beams.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inchi_lightning.network.encoder import EncoderConfig, ResNetEncoder
from inchi_lightning.network.search import State, beam_search, greedy_decode


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
