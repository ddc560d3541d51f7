"""reading/caption_reader.py: the captioner's candidates, the first RDKit reads as the reading."""

import math

import numpy as np
import pytest
import torch

from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import Captioner, DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.reading import caption_reader
from inchi_lightning.reading.caption_reader import CaptionImageReader
from inchi_lightning.tokenizer import InChITokenizer

METHANOL = "InChI=1S/CH4O/c1-2/h2H,1H3"
BEAMS = ["InChI=1S/C9/bad", "InChI=1S/CH4O/c2-1/h2H,1H3", "InChI=1S/H2O/h1H2"]


def tiny_reader(monkeypatch, rdkit: bool = True) -> CaptionImageReader:
    tokenizer = InChITokenizer.build([METHANOL, *BEAMS])
    net = Captioner(
        tokenizer.vocab_size,
        EncoderConfig(name="resnet18", weights="none"),
        DecoderConfig(embed_dim=16, hidden_dim=32),
    )
    scores = torch.tensor([[-0.1, -0.2, -0.3]])

    def decode(net, tokenizer, images, beam_width, length_penalty):
        return [list(BEAMS) for _ in range(len(images))], scores.expand(len(images), 3)

    monkeypatch.setattr(caption_reader, "decode_captions", decode)
    return CaptionImageReader(net, tokenizer, CleanParams(image_size=64), 3, rdkit=rdkit)


def drawn() -> np.ndarray:
    gray = np.full((40, 40), 255, np.uint8)
    gray[10:30, 18:22] = 0
    return gray


@pytest.mark.parametrize("rdkit", [True, False])
def test_the_reading_is_the_first_candidate_rdkit_reads_normalised_with_its_probability(
    monkeypatch, rdkit
):
    (reading,) = tiny_reader(monkeypatch, rdkit).read([drawn()])
    assert reading.candidates == tuple(BEAMS)
    if rdkit:
        assert reading.inchi == METHANOL and reading.smiles == "CO"
        assert reading.confidence == pytest.approx(math.exp(-0.2))
    else:
        assert reading.inchi == BEAMS[0] and reading.smiles == ""
        assert reading.confidence == pytest.approx(math.exp(-0.1))
    assert reading.molfile == "" and not reading.error


def test_an_image_with_nothing_drawn_gets_its_reason_and_the_others_are_read(monkeypatch):
    readings = tiny_reader(monkeypatch).read([np.full((8, 8), 255, np.uint8), drawn()])
    assert readings[0].error == "empty image" and readings[0].inchi == ""
    assert readings[1].inchi == METHANOL


def test_an_untrained_captioner_writes_candidates_of_its_vocabulary(monkeypatch):
    reader = tiny_reader(monkeypatch)
    monkeypatch.undo()
    (reading,) = reader.read_cleaned(torch.full((1, 1, 64, 64), 255, dtype=torch.uint8))
    assert len(reading.candidates) == 3 and 0.0 <= reading.confidence <= 1.0
