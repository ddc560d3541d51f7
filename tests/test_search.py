"""search.py: greedy and beam search on a toy decoder whose best sequence greedy cannot find."""

import math

import torch
from torch import nn

from inchi_lightning.network.search import State, beam_search, greedy_decode

PAD, SOS, EOS = 0, 1, 2


class TransitionTableDecoder(nn.Module):
    """A toy decoder whose next-token log-probabilities depend only on the previous token."""

    def __init__(self, probabilities: list[list[float]]) -> None:
        super().__init__()
        table = torch.tensor(probabilities)
        self.log_probs = (table / table.sum(dim=1, keepdim=True)).log()  # (V, V)

    def init_state(self, features: torch.Tensor) -> State:
        return (features.new_zeros(features.size(0), 1),)

    def step(self, prev_tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State, None]:
        return self.log_probs[prev_tokens], state, None


# Tokens: pad, sos, eos, a, b. Greedy takes a (0.6) and ends a-eos: 0.6 * 0.35 = 0.21.
# The better sequence starts with the less likely b: b-eos is 0.4 * 0.9 = 0.36.
TRAP = [
    # pad   sos   eos   a     b
    [0.01, 0.01, 0.90, 0.04, 0.04],  # after pad (never used)
    [0.00, 0.00, 0.00, 0.60, 0.40],  # after sos
    [0.01, 0.01, 0.90, 0.04, 0.04],  # after eos (never used)
    [0.00, 0.00, 0.35, 0.33, 0.32],  # after a
    [0.00, 0.00, 0.90, 0.05, 0.05],  # after b
]
A, B = 3, 4


def test_beam_search_escapes_the_greedy_trap():
    decoder, features = TransitionTableDecoder(TRAP), torch.zeros(2, 1, 1, 1)
    ids = dict(sos_id=SOS, eos_id=EOS, pad_id=PAD, max_length=6)
    greedy_tokens, greedy_scores = greedy_decode(decoder, features, **ids)
    beam_tokens, beam_scores = beam_search(decoder, features, beam_width=2, **ids)

    assert greedy_tokens.tolist() == [[A, EOS]] * 2
    assert beam_tokens.tolist() == [[[B, EOS], [A, EOS]]] * 2
    torch.testing.assert_close(greedy_scores, torch.full((2,), math.log(0.6 * 0.35) / 2))
    expected_beam = torch.tensor([math.log(0.4 * 0.9), math.log(0.6 * 0.35)]) / 2
    torch.testing.assert_close(beam_scores, expected_beam.expand(2, 2))
