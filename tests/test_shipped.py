"""The shipped model (``inchi_lightning/models``) and the release format it is written in."""

import torch

from inchi_lightning.reading.graph_reader import GraphImageReader
from inchi_lightning.reading.loading import load_image_reader
from inchi_lightning.shipped import SHIPPED_MODEL, shipped_model
from inchi_lightning.training.checkpoints import release_checkpoint

MAX_BYTES = 30 * 2**20


def test_a_release_keeps_the_model_in_half_precision_and_reads_the_same(
    small_graph_checkpoint, tmp_path
):
    source = small_graph_checkpoint
    release = release_checkpoint(source, tmp_path / "release.ckpt")
    stored = torch.load(release, map_location="cpu", weights_only=True)
    assert "optimizer_states" not in stored and "loops" not in stored
    floats = [t for t in stored["state_dict"].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)
    assert release.stat().st_size < 0.6 * source.stat().st_size
    full, released = load_image_reader(source), load_image_reader(release)
    assert isinstance(released, GraphImageReader) and released.clean_params == full.clean_params
    assert released.settings == full.settings and released.target == full.target
    images = torch.randint(0, 256, (2, 1, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        expected, got = full.net(images.float() / 255), released.net(images.float() / 255)
    assert torch.allclose(expected["heatmap_logits"], got["heatmap_logits"], atol=1e-2)


def test_the_shipped_model_is_one_small_release_that_reads_images():
    assert shipped_model() == SHIPPED_MODEL, "the package ships its model"
    assert SHIPPED_MODEL.stat().st_size <= MAX_BYTES
    model = load_image_reader(SHIPPED_MODEL)
    size = model.clean_params.image_size
    (reading,) = model.read_cleaned(torch.full((1, 1, size, size), 255, dtype=torch.uint8))
    assert reading.candidates == (reading.inchi,) and 0.0 <= reading.confidence <= 1.0
