"""Decoding searches over any ``StepDecoder``: greedy and batched beam search.

Only torch: a decoder supplies ``init_state`` and ``step``; the searches keep the B (or B x k)
sequences of a batch moving together, with no loop over samples in Python.
"""

from __future__ import annotations

from typing import Protocol

import torch

NEG_INF = float("-inf")

State = tuple[torch.Tensor, ...]
"""A decoder's recurrent state: tensors whose dim 0 is the batch, so searches can reorder it."""


class StepDecoder(Protocol):
    """What greedy and beam search need from a decoder."""

    def init_state(self, features: torch.Tensor) -> State:
        """The state before the first token, from (B, C, h, w) features."""
        ...

    def step(
        self, prev_tokens: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        """(B,) previous tokens → (B, V) log-probabilities, the next state, (B, P) attention."""
        ...


def allowed_log_probs(log_probs: torch.Tensor, sos_id: int, pad_id: int) -> torch.Tensor:
    """(N, V) log-probabilities with <sos> and <pad> ruled out: neither is ever a next token."""
    never = torch.tensor([sos_id, pad_id], device=log_probs.device)
    return log_probs.index_fill(1, never, NEG_INF)


def greedy_decode(
    decoder: StepDecoder,
    features: torch.Tensor,
    sos_id: int,
    eos_id: int,
    pad_id: int,
    max_length: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The most likely next token at every step.

    Args:
        features: (B, C, h, w) encoder output.
        max_length: most tokens generated per sequence, <eos> included.

    Returns:
        tokens: (B, L) int64, L ≤ max_length, without <sos>; after <eos> only <pad>.
        scores: (B,) mean log-probability of the generated tokens, <eos> included.
    """
    state = decoder.init_state(features)
    batch = features.size(0)
    prev = torch.full((batch,), sos_id, dtype=torch.long, device=features.device)  # (B,)
    finished = torch.zeros(batch, dtype=torch.bool, device=features.device)  # (B,)
    total = torch.zeros(batch, device=features.device)  # (B,)
    length = torch.zeros(batch, device=features.device)  # (B,)
    generated = []
    for _ in range(max_length):
        log_probs, state, _ = decoder.step(prev, state)  # (B, V)
        best, token = allowed_log_probs(log_probs, sos_id, pad_id).max(dim=1)  # (B,), (B,)
        token = token.masked_fill(finished, pad_id)
        total += best.masked_fill(finished, 0.0)
        length += (~finished).float()
        generated.append(token)
        finished |= token == eos_id
        prev = token
        if finished.all():
            break
    tokens = torch.stack(generated, dim=1)  # (B, L)
    return tokens, total / length.clamp(min=1)


def beam_search(
    decoder: StepDecoder,
    features: torch.Tensor,
    sos_id: int,
    eos_id: int,
    pad_id: int,
    max_length: int,
    beam_width: int,
    length_penalty: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``beam_width`` best sequences per image by length-normalised log-probability.

    Every image keeps k slots. Each step, every live slot proposes its V extensions and every
    finished slot proposes itself unchanged; the k best proposals by normalised score
    ``sum log p / length ** length_penalty`` (length counts <eos>) take the slots. A finished
    hypothesis therefore never extends, and stays only while no live one scores better. Search
    ends when every slot is finished or after ``max_length`` steps. With ``beam_width=1`` this
    is greedy decoding.

    Args:
        features: (B, C, h, w) encoder output.
        max_length: most tokens generated per sequence, <eos> included.

    Returns:
        tokens: (B, k, L) int64, best first, without <sos>; after <eos> only <pad>.
        scores: (B, k) normalised scores, best first (unfinished hypotheses are scored as is).
    """
    k, batch, device = beam_width, features.size(0), features.device
    state = tuple(s.repeat_interleave(k, dim=0) for s in decoder.init_state(features))
    prev = torch.full((batch * k,), sos_id, dtype=torch.long, device=device)  # (B*k,)
    # Only slot 0 starts live: the k copies are identical and would propose the same extensions.
    total = torch.full((batch, k), NEG_INF, device=device)  # (B, k) sum of log-probabilities
    total[:, 0] = 0.0
    length = torch.zeros(batch, k, device=device)  # (B, k)
    finished = torch.zeros(batch, k, dtype=torch.bool, device=device)  # (B, k)
    tokens = torch.empty(batch, k, 0, dtype=torch.long, device=device)  # (B, k, t)
    score = total
    for _ in range(max_length):
        log_probs, state, _ = decoder.step(prev, state)  # (B*k, V)
        log_probs = allowed_log_probs(log_probs, sos_id, pad_id).view(batch, k, -1)  # (B, k, V)
        vocab = log_probs.size(2)
        proposal_total = _proposal_totals(log_probs, total, finished, pad_id)  # (B, k, V)
        proposal_length = length + (~finished).float()  # (B, k)
        normaliser = proposal_length.clamp(min=1) ** length_penalty  # (B, k)
        proposal_score = proposal_total / normaliser.unsqueeze(2)  # (B, k, V)
        score, index = proposal_score.view(batch, k * vocab).topk(k, dim=1)  # (B, k) each
        slot, token = index // vocab, index % vocab  # (B, k) each
        total = proposal_total.view(batch, k * vocab).gather(1, index)  # (B, k)
        length = proposal_length.gather(1, slot)  # (B, k)
        # A finished slot's own proposal sits under <pad>. A proposal scored -inf (there were
        # fewer than k possible ones) is dead: finished with <pad>, ranked below every real one.
        dead = torch.isinf(score)  # (B, k)
        token = token.masked_fill(dead, pad_id)
        finished = finished.gather(1, slot) | (token == eos_id) | dead  # (B, k)
        history = tokens.gather(1, slot.unsqueeze(2).expand_as(tokens))  # (B, k, t)
        tokens = torch.cat([history, token.unsqueeze(2)], dim=2)  # (B, k, t+1)
        rows = (slot + torch.arange(batch, device=device).unsqueeze(1) * k).view(-1)  # (B*k,)
        state = tuple(s.index_select(0, rows) for s in state)
        prev = token.view(-1)
        if finished.all():
            break
    return tokens, score


def _proposal_totals(
    log_probs: torch.Tensor, total: torch.Tensor, finished: torch.Tensor, pad_id: int
) -> torch.Tensor:
    """Summed log-probabilities of every (slot, token) proposal: (B, k, V).

    A live slot extends by every token; a finished slot proposes itself once, under the <pad>
    token with nothing added, and nothing else.
    """
    stay = torch.full_like(log_probs, NEG_INF)  # (B, k, V)
    stay[..., pad_id] = 0.0
    step_log_probs = torch.where(finished.unsqueeze(2), stay, log_probs)  # (B, k, V)
    return total.unsqueeze(2) + step_log_probs  # (B, k, V)
