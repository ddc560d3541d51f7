"""``InChIDataModule``: shard directories → datasets → loaders."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from inchi_lightning.prep.quickstart import QuickstartSettings
from inchi_lightning.shards import ShardSet, read_shard_spec
from inchi_lightning.tokenizer import PAD_ID, InChITokenizer

log = logging.getLogger(__name__)


def train_augmentation() -> Any:
    """Scan-like variation: 90-degree turns, small rotations, scale/shift, speckle noise."""
    import albumentations as A

    return A.Compose(
        [
            A.RandomRotate90(p=0.25),
            A.Affine(
                rotate=(-4, 4),
                scale=(0.9, 1.05),
                translate_percent=(-0.03, 0.03),
                fill=255,
                border_mode=0,
                p=0.6,
            ),
            A.SaltAndPepper(amount=(0.0, 0.004), p=0.3),
        ]
    )


class ShardImages(Dataset):
    """Shard samples as image (S, S) uint8, image id and InChI (``error`` always empty: a shard
    holds readable images only), each image passed through ``transform`` when given."""

    def __init__(self, shards: ShardSet, transform: Any = None):
        self.shards = shards
        self.transform = transform

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, image_id, inchi = self.shards[index]
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        image = torch.from_numpy(np.ascontiguousarray(image))
        return {"image": image, "image_id": image_id, "inchi": inchi, "error": ""}


class CaptionDataset(ShardImages):
    """Shard samples with their InChI's token ids (``tokens``)."""

    def __init__(self, shards: ShardSet, tokenizer: InChITokenizer, transform: Any = None):
        super().__init__(shards, transform)
        self.tokenizer = tokenizer

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = super().__getitem__(index)
        tokens = torch.tensor(self.tokenizer.encode(sample["inchi"]), dtype=torch.long)
        return {**sample, "tokens": tokens}


def collate_captions(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack images as (B, 1, S, S) uint8 and right-pad token ids with ``<pad>``."""
    lengths = torch.tensor([len(s["tokens"]) for s in samples])
    tokens = torch.full((len(samples), int(lengths.max())), PAD_ID, dtype=torch.long)
    for row, sample in enumerate(samples):
        tokens[row, : len(sample["tokens"])] = sample["tokens"]
    return {
        "images": torch.stack([s["image"] for s in samples]).unsqueeze(1),
        "tokens": tokens,
        "lengths": lengths,
        "image_ids": [s["image_id"] for s in samples],
        "inchis": [s["inchi"] for s in samples],
    }


class InChIDataModule(L.LightningDataModule):
    """Batches of molecule images and tokenised InChIs from a shard directory.

    Args:
        shards: a directory written by ``preprocess`` (``train/``, ``val/``, ``test/`` splits).
        batch_size: samples per batch.
        num_workers: DataLoader worker processes.
        augment: scan-like augmentation of training images (never of val/test).
        quickstart: the synthetic set that the command line builds at ``shards`` when that
            directory does not exist yet (``prep/quickstart.py``); configured here, under
            ``data:``, because it says where this module's shards come from.
    """

    def __init__(
        self,
        shards: str = "data/quickstart/shards",
        batch_size: int = 32,
        num_workers: int = 2,
        augment: bool = True,
        quickstart: QuickstartSettings | None = None,
    ) -> None:
        super().__init__()
        self.shards = Path(shards)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.augment = augment
        self.quickstart = quickstart
        self.tokenizer: InChITokenizer | None = None
        self.datasets: dict[str, Dataset] = {}

    def setup(self, stage: str) -> None:
        self.tokenizer, _ = read_shard_spec(self.shards)
        self._check_vocabulary_matches_model()
        for split in ("train", "val", "test"):
            augment = split == "train" and self.augment
            self.datasets[split] = self.split_dataset(ShardSet(self.shards / split), augment)
        if stage == "fit" and len(self.datasets["train"]) == 0:
            raise ValueError(f"{self.shards / 'train'} holds no samples")

    def split_dataset(self, shards: ShardSet, augment: bool) -> Dataset:
        """One split's samples: images with their InChI's token ids."""
        return CaptionDataset(shards, self.tokenizer, train_augmentation() if augment else None)

    collate_split = staticmethod(collate_captions)  # how a train/val/test batch is made

    def _check_vocabulary_matches_model(self) -> None:
        model = self.trainer.lightning_module if self.trainer is not None else None
        vocabulary = getattr(model, "vocabulary", None)
        if vocabulary is not None and list(vocabulary) != self.tokenizer.tokens:
            raise ValueError(
                f"the vocabulary of {self.shards} does not match the model's: preprocess the "
                "data with `--vocab` pointing at the vocabulary the model was trained with"
            )

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=self.collate_split,
            persistent_workers=self.num_workers > 0 and split == "train",
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
