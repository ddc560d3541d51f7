import numpy as np
import torch

from inchi_lightning.tokenizer import EOS_ID, PAD_ID, SOS_ID
from inchi_lightning.training.data import (
    InChIDataModule,
    collate_captions,
    train_augmentation,
)

from .conftest import TINY_IMAGE_SIZE


def make_datamodule(shards, **kwargs) -> InChIDataModule:
    kwargs = {"batch_size": 8, "num_workers": 0, **kwargs}
    return InChIDataModule(shards=str(shards), **kwargs)


def test_batches_have_documented_shapes_and_dtypes(tiny_shards):
    datamodule = make_datamodule(tiny_shards)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    size = TINY_IMAGE_SIZE
    assert batch["images"].shape == (8, 1, size, size)
    assert batch["images"].dtype == torch.uint8
    assert batch["tokens"].dtype == torch.long
    assert batch["tokens"].shape == (8, int(batch["lengths"].max()))
    assert (batch["tokens"][:, 0] == SOS_ID).all()
    for row, length in zip(batch["tokens"], batch["lengths"], strict=True):
        assert row[length - 1] == EOS_ID
        assert (row[length:] == PAD_ID).all()
    assert len(batch["image_ids"]) == len(batch["inchis"]) == 8


def test_tokens_decode_to_the_label(tiny_shards):
    datamodule = make_datamodule(tiny_shards)
    datamodule.setup("validate")
    batch = next(iter(datamodule.val_dataloader()))
    decoded = datamodule.tokenizer.decode_batch(batch["tokens"].tolist())
    assert decoded == batch["inchis"]


def test_validation_images_are_not_augmented(tiny_shards):
    datamodule = make_datamodule(tiny_shards)
    datamodule.setup("fit")
    dataset = datamodule.datasets["val"]
    assert dataset.transform is None
    assert torch.equal(dataset[0]["image"], dataset[0]["image"])
    assert datamodule.datasets["train"].transform is not None


def test_augmentation_keeps_shape_dtype_and_white_background():
    image = np.full((64, 64), 255, dtype=np.uint8)
    image[30:34, 10:54] = 0
    rng_outputs = [train_augmentation()(image=image)["image"] for _ in range(20)]
    for out in rng_outputs:
        assert out.shape == image.shape and out.dtype == np.uint8
        assert out[0, 0] >= 200  # corners stay (nearly) white: fill is white, not black
    assert any(not np.array_equal(out, image) for out in rng_outputs)


def test_collate_pads_to_the_longest():
    samples = [
        {
            "image": torch.zeros(4, 4, dtype=torch.uint8),
            "tokens": torch.tensor(ids),
            "image_id": str(i),
            "inchi": "",
        }
        for i, ids in enumerate([[1, 5, 2], [1, 5, 6, 7, 2]])
    ]
    batch = collate_captions(samples)
    assert batch["tokens"].tolist() == [[1, 5, 2, 0, 0], [1, 5, 6, 7, 2]]
    assert batch["lengths"].tolist() == [3, 5]
    assert batch["images"].shape == (2, 1, 4, 4)
