"""Fixtures that build tiny synthetic data once per test session.

Drawing and preprocessing cost seconds (Ray starts once per preprocess call), so the raw set
and its shards are session-scoped; tests that change data copy it into their own tmp_path.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

TINY_IMAGE_SIZE = 64


@pytest.fixture(scope="session", autouse=True)
def ray_temp_dir():
    """Keep Ray's session files out of /tmp/ray; a short path, since Ray's sockets need one."""
    path = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = path
    yield path
    if previous is None:
        os.environ.pop("RAY_TMPDIR", None)
    else:
        os.environ["RAY_TMPDIR"] = previous


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> Path:
    """~120 synthetic drawings in the Kaggle BMS layout."""
    from inchi_lightning.prep.synth import synthesise

    out = tmp_path_factory.mktemp("raw")
    synthesise(out, n=120, seed=7, num_workers=2, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_shards(tiny_raw, tmp_path_factory) -> Path:
    """``tiny_raw`` preprocessed to 64 px shards with a validation split."""
    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.prep.preprocess import preprocess

    out = tmp_path_factory.mktemp("shards") / "shards"
    preprocess(
        tiny_raw,
        out,
        clean_params=CleanParams(image_size=TINY_IMAGE_SIZE),
        shard_size=50,
        val_fraction=0.2,
        num_cpus=2,
        progress=False,
    )
    return out


@pytest.fixture
def small_graph_checkpoint(tmp_path) -> Path:
    """An untrained 64 px graph recogniser's checkpoint, as Lightning's trainer writes one."""
    import lightning as L

    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.network.encoder import EncoderConfig
    from inchi_lightning.training.graph_module import GraphModule

    model = GraphModule(
        clean_params=CleanParams(image_size=TINY_IMAGE_SIZE),
        encoder=EncoderConfig(name="resnet18", weights="none"),
        head_channels=16,
    )
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    path = tmp_path / "small-graph.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture
def scaled_checkpoint(small_graph_checkpoint, tmp_path):
    """``scaled_checkpoint(factor)``: a copy of the small checkpoint whose float weights are
    multiplied by ``factor``; integer buffers are shifted by 5, so an average that must keep
    the first checkpoint's counts can tell them apart."""
    import torch

    def scaled(factor: float) -> Path:
        checkpoint = torch.load(small_graph_checkpoint, map_location="cpu", weights_only=True)
        checkpoint["state_dict"] = {
            name: tensor * factor if tensor.is_floating_point() else tensor + 5
            for name, tensor in checkpoint["state_dict"].items()
        }
        target = tmp_path / f"scaled-{factor:g}.ckpt"
        torch.save(checkpoint, target)
        return target

    return scaled


@pytest.fixture
def load_script():
    """``load_script("name")``: the module ``scripts/name.py`` (the scripts are no package)."""

    def load(name: str):
        path = Path(__file__).parent.parent / "scripts" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
