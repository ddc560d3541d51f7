import urllib.error

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models

from inchi_lightning.network.captioner import (
    AttentionLSTMDecoder,
    Captioner,
    DecoderConfig,
    LSTMDecoder,
)
from inchi_lightning.network.encoder import EncoderConfig, ResNetEncoder

PAD, SOS, EOS = 0, 1, 2
VOCAB = 16
TINY_DECODER = dict(embed_dim=32, hidden_dim=64, attention_dim=32, dropout=0.0)
DECODERS = [LSTMDecoder, AttentionLSTMDecoder]


def tiny_captioner(attention: bool, seed: int = 0) -> Captioner:
    torch.manual_seed(seed)
    return Captioner(
        vocab_size=VOCAB,
        encoder=EncoderConfig(name="resnet18", weights="none"),
        decoder=DecoderConfig(attention=attention, **TINY_DECODER),
    )


def random_features(batch: int = 3, channels: int = 24, size: int = 2) -> torch.Tensor:
    return torch.randn(batch, channels, size, size)  # (B, C, h, w)


def random_tokens(batch: int, length: int) -> torch.Tensor:
    tokens = torch.randint(3, VOCAB, (batch, length))  # (B, T)
    tokens[:, 0] = SOS
    return tokens


def until_eos(row: list[int]) -> list[int]:
    """A decoded row up to and including its first <eos>."""
    return row[: row.index(EOS) + 1] if EOS in row else row


# ---- encoder ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "channels"), [("resnet18", 512), ("resnet50", 2048)])
def test_encoder_keeps_the_spatial_map_of_one_channel_images(name, channels):
    encoder = ResNetEncoder(EncoderConfig(name=name, weights="none")).eval()
    assert encoder.out_channels == channels
    with torch.no_grad():
        features = encoder(torch.rand(2, 1, 64, 96))
    assert features.shape == (2, channels, 2, 3)


def test_channels_last_encoder_computes_what_the_contiguous_one_does():
    torch.manual_seed(0)
    contiguous = ResNetEncoder(EncoderConfig(name="resnet18")).eval()
    nhwc = ResNetEncoder(EncoderConfig(name="resnet18", channels_last=True)).eval()
    nhwc.load_state_dict(contiguous.state_dict())
    assert nhwc.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(nhwc(images), contiguous(images), rtol=1e-4, atol=1e-4)


def test_unknown_encoder_name_is_refused():
    with pytest.raises(ValueError, match="resnet18"):
        ResNetEncoder(EncoderConfig(name="vgg16"))


@pytest.mark.parametrize("with_fc", [True, False])
def test_local_state_dict_sums_conv1_so_gray_input_means_what_rgb_did(tmp_path, with_fc):
    torch.manual_seed(0)
    resnet = models.resnet18(weights=None).eval()
    state = resnet.state_dict()
    if not with_fc:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    torch.save(state, tmp_path / "resnet18.pth")

    encoder = ResNetEncoder(EncoderConfig(name="resnet18", weights=str(tmp_path / "resnet18.pth")))
    expected_conv1 = resnet.conv1.weight.sum(dim=1, keepdim=True)  # (64, 1, 7, 7)
    torch.testing.assert_close(encoder.conv1.weight, expected_conv1)
    # A gray image through the encoder = the same image as equal RGB channels through the trunk.
    trunk = nn.Sequential(*list(resnet.children())[:-2])
    gray = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(encoder.eval()(gray), trunk(gray.expand(-1, 3, -1, -1)))


def test_a_saved_encoder_loads_back_from_its_own_state_dict(tmp_path):
    encoder = ResNetEncoder(EncoderConfig(name="resnet18"))
    torch.save(encoder.state_dict(), tmp_path / "encoder.pth")
    loaded = ResNetEncoder(EncoderConfig(name="resnet18", weights=str(tmp_path / "encoder.pth")))
    torch.testing.assert_close(loaded.state_dict(), encoder.state_dict())


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        ResNetEncoder(EncoderConfig(name="resnet18", weights=str(tmp_path / "nothing.pth")))


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty torch hub cache, and downloads that fail at once instead of using the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def unreachable(self, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(models.ResNet18_Weights, "get_state_dict", unreachable)


def test_imagenet_weights_offline_say_how_to_use_a_local_file(offline_hub):
    with pytest.raises(RuntimeError, match="weights: /path/to/resnet18.pth") as error:
        ResNetEncoder(EncoderConfig(name="resnet18", weights="imagenet"))
    assert "\n" not in str(error.value)
    assert "download.pytorch.org" in str(error.value)


def test_imagenet_weights_come_from_torchvisions_enum(monkeypatch):
    resnet = models.resnet18(weights=None)
    monkeypatch.setattr(
        models.ResNet18_Weights, "get_state_dict", lambda self, **kwargs: resnet.state_dict()
    )
    encoder = ResNetEncoder(EncoderConfig(name="resnet18", weights="imagenet"))
    torch.testing.assert_close(encoder.layer4[1].conv2.weight, resnet.layer4[1].conv2.weight)


def test_frozen_encoder_keeps_weights_and_batch_norm_statistics():
    captioner = Captioner(
        vocab_size=VOCAB,
        encoder=EncoderConfig(name="resnet18", trainable=False),
        decoder=DecoderConfig(**TINY_DECODER),
    ).train()
    assert not any(p.requires_grad for p in captioner.encoder.parameters())
    assert all(p.requires_grad for p in captioner.decoder.parameters())
    assert not captioner.encoder.training and not captioner.encoder.bn1.training


# ---- decoders --------------------------------------------------------------------------------


@pytest.mark.parametrize("decoder_class", DECODERS)
def test_teacher_forcing_predicts_every_next_token(decoder_class):
    decoder = decoder_class(VOCAB, 24, DecoderConfig(**TINY_DECODER))
    logits = decoder(random_features(batch=3), random_tokens(batch=3, length=7))
    assert logits.shape == (3, 6, VOCAB)


def test_attention_maps_are_distributions_over_positions():
    decoder = AttentionLSTMDecoder(VOCAB, 24, DecoderConfig(**TINY_DECODER))
    features = random_features(batch=3, size=4)  # P = 16
    logits, attention = decoder.forward_with_attention(features, random_tokens(3, 7))
    assert logits.shape == (3, 6, VOCAB)
    assert attention.shape == (3, 6, 16)
    torch.testing.assert_close(attention.sum(dim=2), torch.ones(3, 6))


@pytest.mark.parametrize("decoder_class", DECODERS)
def test_stepping_reproduces_teacher_forcing(decoder_class):
    """The search's step-by-step path uses the same weights and maths as training."""
    decoder = decoder_class(VOCAB, 24, DecoderConfig(**TINY_DECODER)).eval()
    features, tokens = random_features(batch=3), random_tokens(batch=3, length=6)
    with torch.no_grad():
        expected = F.log_softmax(decoder(features, tokens), dim=-1)  # (B, T-1, V)
        state = decoder.init_state(features)
        assert all(s.size(0) == 3 for s in state)
        for t in range(tokens.size(1) - 1):
            log_probs, state, _ = decoder.step(tokens[:, t], state)
            torch.testing.assert_close(log_probs, expected[:, t], atol=1e-5, rtol=1e-5)


# ---- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("attention", [False, True])
def test_beam_of_width_one_is_greedy(attention):
    captioner = tiny_captioner(attention).eval()
    images = torch.rand(6, 1, 64, 64)
    greedy_tokens, greedy_scores = captioner.greedy(images, max_length=12)
    beam_tokens, beam_scores = captioner.beam(images, max_length=12, beam_width=1)
    assert torch.equal(beam_tokens[:, 0], greedy_tokens)
    torch.testing.assert_close(beam_scores[:, 0], greedy_scores)


def sequence_log_prob(decoder: nn.Module, features: torch.Tensor, row: list[int]) -> float:
    """Sum of log-probabilities of one generated sequence, by teacher forcing."""
    tokens = torch.tensor([[SOS, *row]])  # (1, T)
    log_probs = F.log_softmax(decoder(features, tokens), dim=-1)[0]  # (T-1, V)
    return log_probs.gather(1, tokens[0, 1:, None]).sum().item()


@pytest.mark.parametrize("attention", [False, True])
def test_beam_scores_are_normalised_log_probs_of_the_returned_sequences(attention):
    captioner = tiny_captioner(attention, seed=1).eval()
    images, penalty = torch.rand(2, 1, 64, 64), 0.7
    tokens, scores = captioner.beam(images, max_length=8, beam_width=4, length_penalty=penalty)
    assert tokens.shape[:2] == scores.shape == (2, 4)
    assert torch.all(scores[:, :-1] >= scores[:, 1:])  # best first
    with torch.no_grad():
        features = captioner.encode(images)
        for b in range(2):
            rows = [until_eos(row) for row in tokens[b].tolist()]
            assert len({tuple(row) for row in rows}) == 4  # k different hypotheses
            for row, score in zip(rows, scores[b].tolist(), strict=True):
                total = sequence_log_prob(captioner.decoder, features[b : b + 1], row)
                assert score == pytest.approx(total / len(row) ** penalty, abs=1e-4)


@pytest.mark.parametrize("attention", [False, True])
def test_decoded_sequences_end_at_eos_then_pad(attention):
    captioner = tiny_captioner(attention, seed=2).eval()
    with torch.no_grad():  # an eos-happy model, so that sequences end at different steps
        captioner.decoder.head.bias[EOS] += 3.0
    images = torch.rand(8, 1, 64, 64)
    greedy_tokens, _ = captioner.greedy(images, max_length=10)
    beam_tokens, _ = captioner.beam(images, max_length=10, beam_width=3)
    rows = greedy_tokens.tolist() + beam_tokens.flatten(0, 1).tolist()
    assert any(len(until_eos(row)) > 1 for row in rows)
    for row in rows:
        assert EOS in row
        end = row.index(EOS)
        assert all(token == PAD for token in row[end + 1 :])
        assert all(token not in (PAD, SOS) for token in row[:end])


# ---- learning --------------------------------------------------------------------------------


def eight_captions(length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """8 random 64 px images and 8 distinct random token sequences of different lengths."""
    torch.manual_seed(0)
    images = (torch.rand(8, 1, 64, 64) > 0.9).float()  # sparse "ink" on blank paper
    tokens = torch.full((8, length + 2), PAD)  # (8, T)
    tokens[:, 0] = SOS
    for i in range(8):
        n = 3 + i % (length - 2)
        tokens[i, 1 : n + 1] = torch.randint(4, VOCAB, (n,))
        tokens[i, n + 1] = EOS
    assert len(set(map(tuple, tokens.tolist()))) == 8
    return images, tokens


@pytest.mark.parametrize("attention", [False, True])
def test_overfits_eight_images_to_zero_errors(attention):
    """A real learning test: encoder, decoder and greedy decoding learn 8 captions by heart."""
    images, tokens = eight_captions(length=8)
    targets = [until_eos(row) for row in tokens[:, 1:].tolist()]
    captioner = tiny_captioner(attention)
    optimiser = torch.optim.Adam(captioner.parameters(), lr=3e-3)
    errors = len(targets)
    for step in range(1, 301):
        captioner.train()
        logits = captioner(images, tokens)  # (8, T-1, V)
        loss = F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten(), ignore_index=PAD)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 25 == 0:
            predicted, _ = captioner.eval().greedy(images, max_length=tokens.size(1))
            rows = [until_eos(row) for row in predicted.tolist()]
            errors = sum(row != target for row, target in zip(rows, targets, strict=True))
            if errors == 0:
                break
    assert errors == 0, f"{errors} of 8 captions wrong after {step} steps (loss {loss:.3f})"
