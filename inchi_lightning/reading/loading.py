"""A checkpoint of either model, loaded as the network that reads images: no Lightning.

A checkpoint carries everything reading needs in its hyperparameters (clean() settings, the
captioner's vocabulary, the graph recogniser's reading settings) and its weights under
``net.``, where the LightningModules keep their network. The networks are built here from those
hyperparameters, as the LightningModules build them, and the weights loaded into them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import Captioner, DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.graph import ATOM_SEPARATION, ATOM_THRESHOLD, GraphRecognizer
from inchi_lightning.reading.appended_classes import grow_appended_classes
from inchi_lightning.reading.caption_reader import CaptionImageReader
from inchi_lightning.reading.checkpoint import (
    CAPTIONER_CLASS_PATH,
    GRAPH_CLASS_PATH,
    as_dataclass,
    check_checkpoint,
    model_class_path,
)
from inchi_lightning.reading.graph_reader import (
    GraphImageReader,
    decode_settings,
    network_config,
)
from inchi_lightning.reading.vote import VoteGate
from inchi_lightning.tokenizer import EOS_ID, PAD_ID, SOS_ID, InChITokenizer

NETWORK_PREFIX = "net."  # where both LightningModules keep their network
# Classifiers whose class lists grow at their end (molgraph): older weights are padded on load.
APPENDED_CLASS_LAYERS = ("atom_head", "charge_head")

ImageReader = GraphImageReader | CaptionImageReader


def graph_network(hparams: Mapping[str, Any], encoder_weights: bool = False) -> GraphRecognizer:
    """The graph recogniser a ``GraphModule``'s hyperparameters describe; its encoder starts
    from the weights they name only with ``encoder_weights`` (a checkpoint's replace them)."""
    encoder = _encoder(hparams, EncoderConfig(name="resnet18"), encoder_weights)
    sizes = {k: hparams[k] for k in ("neck", "head_channels", "max_bond_length") if k in hparams}
    return GraphRecognizer(network_config(encoder, **sizes))


def captioner_network(
    hparams: Mapping[str, Any], encoder_weights: bool = False
) -> tuple[Captioner, InChITokenizer]:
    """The captioner a ``CaptionerModule``'s hyperparameters describe, and its tokenizer
    (``encoder_weights`` as for ``graph_network``)."""
    tokenizer = InChITokenizer(hparams["vocabulary"], hparams["max_length"])
    net = Captioner(
        vocab_size=tokenizer.vocab_size,
        encoder=_encoder(hparams, EncoderConfig(), encoder_weights),
        decoder=as_dataclass(DecoderConfig, hparams.get("decoder")) or DecoderConfig(),
        pad_id=PAD_ID,
        sos_id=SOS_ID,
        eos_id=EOS_ID,
    )
    return net, tokenizer


def _encoder(hparams: Mapping[str, Any], default: EncoderConfig, weights: bool) -> EncoderConfig:
    encoder = as_dataclass(EncoderConfig, hparams.get("encoder")) or default
    return encoder if weights else dataclasses.replace(encoder, weights="none")


def load_image_reader(
    path: str | Path,
    gate: VoteGate = VoteGate(),
    bf16: bool = False,
    beam_width: int | None = None,
    rdkit: bool | None = None,
    map_images: Callable | None = None,
) -> ImageReader:
    """The reader a checkpoint of this project holds, its network in eval mode on the CPU.

    Args:
        gate: when the graph recogniser reads an image again at other sides.
        bf16: run the network in bfloat16.
        beam_width: the captioner's candidates per image; None keeps the checkpoint's.
        rdkit: the captioner's RDKit post-processing; None keeps the checkpoint's.
        map_images: how cleaning is mapped over a batch's images.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a checkpoint of this project's models, or its weights do
            not fit the network its hyperparameters describe.
    """
    hparams = check_checkpoint(path)
    kind = model_class_path(hparams)
    if kind not in (GRAPH_CLASS_PATH, CAPTIONER_CLASS_PATH):
        raise ValueError(f"{path} holds {kind}, which reads no images")
    weights = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    clean_params = as_dataclass(CleanParams, hparams.get("clean_params")) or CleanParams()
    if kind == GRAPH_CLASS_PATH:
        net = graph_network(hparams)
        _load_weights(net, weights, path)
        settings = decode_settings(
            hparams.get("threshold", ATOM_THRESHOLD),
            hparams.get("atom_separation", ATOM_SEPARATION),
        )
        target = hparams.get("target_bond_length", 0.0)
        return GraphImageReader(net, clean_params, settings, target, gate, bf16, map_images)
    net, tokenizer = captioner_network(hparams)
    _load_weights(net, weights, path)
    return CaptionImageReader(
        net,
        tokenizer,
        clean_params,
        beam_width=beam_width or hparams.get("beam_width", 1),
        length_penalty=hparams.get("length_penalty", 1.0),
        rdkit=hparams.get("rdkit_postprocess", True) if rdkit is None else rdkit,
        map_images=map_images,
    )


def _load_weights(net: torch.nn.Module, weights: dict[str, torch.Tensor], path: str | Path) -> None:
    """``weights``' network part loaded into ``net`` (fp16 weights come back in its dtype)."""
    state = {
        name[len(NETWORK_PREFIX) :]: tensor
        for name, tensor in weights.items()
        if name.startswith(NETWORK_PREFIX)
    }
    checkpoint = {"state_dict": state}  # the shape grow_appended_classes pads
    try:
        if isinstance(net, GraphRecognizer):
            grow_appended_classes(checkpoint, net, APPENDED_CLASS_LAYERS)
        net.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, KeyError) as exc:
        detail = str(exc).strip().splitlines()[-1].strip()  # one of the mismatches it names
        raise ValueError(f"{path} is not a usable checkpoint: {detail}") from exc
    net.eval()
