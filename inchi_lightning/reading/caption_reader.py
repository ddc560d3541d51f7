"""The captioner's reading: gray images in, InChIs written token by token out.

Each image is cleaned at the trained side, the network writes ``beam_width`` candidates, and the
first one RDKit reads, rewritten as the standard InChI of its molecule, is the reading
(``chemistry.inchi.postprocess``). A captioner finds no atom positions: its readings have no mol
file coordinates of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from inchi_lightning.chemistry.inchi import postprocess, smiles_from_inchi
from inchi_lightning.imaging import CleanParams, ImageError, clean
from inchi_lightning.network.captioner import Captioner
from inchi_lightning.network.encoder import ink
from inchi_lightning.reading.readings import Reading, read_readable
from inchi_lightning.tokenizer import InChITokenizer


def decode_captions(
    net: Captioner,
    tokenizer: InChITokenizer,
    images: torch.Tensor,
    beam_width: int = 1,
    length_penalty: float = 1.0,
) -> tuple[list[list[str]], torch.Tensor]:
    """Candidate InChIs for (B, 1, S, S) uint8 images, best first, and their (B, k) scores.

    k is ``beam_width`` (one candidate when decoding greedily); a score is the mean token
    log-probability (length-normalised as set by ``length_penalty`` in beam search).
    """
    max_length = tokenizer.max_length - 1  # generated tokens: no <sos>, with <eos>
    if beam_width > 1:
        tokens, scores = net.beam(
            ink(images),
            max_length=max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )  # (B, k, L), (B, k)
    else:
        tokens, scores = net.greedy(ink(images), max_length=max_length)
        tokens, scores = tokens.unsqueeze(1), scores.unsqueeze(1)  # (B, 1, L), (B, 1)
    return [tokenizer.decode_batch(beams) for beams in tokens.tolist()], scores


class CaptionImageReader:
    """Reads gray images with a captioner network and its vocabulary.

    Args:
        net: the network.
        tokenizer: its vocabulary and longest label.
        clean_params: how its training images were cleaned.
        beam_width: candidates per image (1: greedy).
        length_penalty: beam score = sum log p / length ** length_penalty.
        rdkit: the first candidate RDKit reads, normalised; off, the best candidate as written.
        map_images: how cleaning is mapped over a batch's images; the built-in ``map`` when None.
    """

    def __init__(
        self,
        net: Captioner,
        tokenizer: InChITokenizer,
        clean_params: CleanParams,
        beam_width: int = 1,
        length_penalty: float = 1.0,
        rdkit: bool = True,
        map_images: Callable | None = None,
    ) -> None:
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.clean_params = clean_params
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.rdkit = rdkit
        self.map = map_images or map

    def read_cleaned(self, images: torch.Tensor) -> list[Reading]:
        """Readings of (B, 1, S, S) uint8 images cleaned already (a shard split)."""
        with torch.inference_mode():
            candidates, scores = decode_captions(
                self.net, self.tokenizer, images, self.beam_width, self.length_penalty
            )
        return [
            self._reading(beams, beam_scores)
            for beams, beam_scores in zip(candidates, scores.tolist(), strict=True)
        ]

    def read(self, grays: Sequence[np.ndarray]) -> list[Reading]:
        """One reading per (H, W) uint8 gray image, in order."""
        cleaned = list(self.map(self._clean, grays))
        return read_readable(cleaned, self._read_images)

    def _read_images(self, images: list[np.ndarray]) -> list[Reading]:
        return self.read_cleaned(torch.from_numpy(np.stack(images))[:, None])  # (B, 1, S, S)

    def _clean(self, gray: np.ndarray) -> np.ndarray | ImageError:
        try:
            return clean(gray, self.clean_params)
        except ImageError as error:
            return error

    def _reading(self, beams: list[str], scores: list[float]) -> Reading:
        chosen = postprocess(beams, choose=self.rdkit, normalise=self.rdkit)
        inchi = chosen.final
        smiles = (smiles_from_inchi(inchi) or "") if chosen.valid else ""
        confidence = math.exp(scores[chosen.chosen_index])  # the mean token probability
        return Reading(inchi=inchi, smiles=smiles, confidence=confidence, candidates=tuple(beams))
