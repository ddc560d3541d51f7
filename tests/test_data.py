import numpy as np
import pytest
import torch

from inchi_lightning.tokenizer import EOS_ID, PAD_ID, SOS_ID
from inchi_lightning.training.data import (
    InChIDataModule,
    collate_captions,
    list_images,
    refuse_name_clashes,
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


def test_list_images_separates_other_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/b/x.png", "y.PNG", "z.jpg", "notes.txt", "labels.csv"]:
        (tmp_path / name).write_bytes(b"")
    images, others = list_images(tmp_path)
    assert [p.name for p in images] == ["x.png", "y.PNG", "z.jpg"]
    assert sorted(p.name for p in others) == ["labels.csv", "notes.txt"]


def test_two_images_of_one_name_in_different_folders_are_refused(tmp_path):
    for name in ["a/x.png", "b/x.png", "b/y.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    images, _ = list_images(tmp_path)
    with pytest.raises(ValueError, match=r"a/x.png and b/x.png .* both be named 'x'"):
        refuse_name_clashes(images, tmp_path)
    refuse_name_clashes(images[1:], tmp_path)  # b/x.png and b/y.png: distinct names


def test_image_files_are_also_cleaned_at_each_reading_size(tiny_raw, tmp_path):
    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.training.data import ImageFolderDataset, collate_images

    paths = sorted((tiny_raw / "train").rglob("*.png"))[:2]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    dataset = ImageFolderDataset([*paths, broken], CleanParams(image_size=64), (96, 128))
    batch = collate_images([dataset[i] for i in range(3)])
    assert batch["images"].shape == (3, 1, 64, 64)
    assert {side: tuple(t.shape) for side, t in batch["rescaled"].items()} == {
        96: (3, 1, 96, 96), 128: (3, 1, 128, 128),
    }  # fmt: skip
    assert (batch["rescaled"][128][0] < 128).any()  # ink, cleaned from the file at that size
    assert batch["errors"][2] and (batch["rescaled"][96][2] == 255).all()
    assert "rescaled" not in collate_images([ImageFolderDataset(paths, CleanParams(64))[0]])
