"""``InChIDataModule``: shard directories → datasets → loaders, and image folders for predict."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from inchi_lightning.imaging import CleanParams, ImageError, clean, read_gray
from inchi_lightning.shards import MANIFEST_FILE, VOCAB_FILE, ShardSet
from inchi_lightning.tokenizer import PAD_ID, InChITokenizer

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass
class QuickstartSettings:
    """The synthetic set built when the configured shard directory does not exist yet.

    Args:
        n: molecules to draw.
        seed: drawing and sampling seed; the same seed gives the same images.
        image_size: side of the square images written to the shards.
        val_fraction: share of image ids held out for validation.
        raw_dir: where the BMS-layout drawings go; default ``<shards>-raw``.
        patent_fraction: share of drawings in the clean patent style instead of BMS scans
            (see ``synth --patent-fraction``); 0 draws BMS scans only.
    """

    n: int = 2000
    seed: int = 0
    image_size: int = 128
    val_fraction: float = 0.1
    raw_dir: str | None = None
    patent_fraction: float = 0.0


def prepare_shards(
    shards: str | Path, quickstart: QuickstartSettings | None
) -> tuple[InChITokenizer, CleanParams]:
    """Make sure ``shards`` holds a preprocessed set, building the quickstart set if asked.

    Returns the set's vocabulary and the clean() parameters its images were made with.

    Raises:
        FileNotFoundError: the directory has no finished set and no quickstart is configured.
    """
    shards = Path(shards)
    if not (shards / MANIFEST_FILE).is_file():
        if quickstart is None:
            raise FileNotFoundError(
                f"no preprocessed shards at {shards} (no {MANIFEST_FILE}): run "
                "`python -m inchi_lightning preprocess --input RAW --output "
                f"{shards}` or set data.quickstart"
            )
        build_quickstart(shards, quickstart)
    return read_shard_spec(shards)


def read_shard_spec(shards: str | Path) -> tuple[InChITokenizer, CleanParams]:
    """The vocabulary and clean() parameters recorded in a finished shard directory."""
    shards = Path(shards)
    manifest = json.loads((shards / MANIFEST_FILE).read_text())
    return InChITokenizer.load(shards / VOCAB_FILE), CleanParams(**manifest["clean"])


def build_quickstart(shards: Path, settings: QuickstartSettings) -> None:
    """Draw the synthetic set and preprocess it; both steps resume if interrupted."""
    from inchi_lightning.preprocess import preprocess
    from inchi_lightning.synth import synthesise

    raw = Path(settings.raw_dir) if settings.raw_dir else shards.with_name(shards.name + "-raw")
    log.info(
        "building the quickstart set: %d drawings in %s, shards in %s", settings.n, raw, shards
    )
    synthesise(raw, n=settings.n, seed=settings.seed, patent_fraction=settings.patent_fraction)
    preprocess(
        raw,
        shards,
        clean_params=CleanParams(image_size=settings.image_size),
        val_fraction=settings.val_fraction,
    )


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


class CaptionDataset(Dataset):
    """Shard samples as (image (S, S) uint8, token ids, image id, InChI)."""

    def __init__(self, shards: ShardSet, tokenizer: InChITokenizer, transform: Any = None):
        self.shards = shards
        self.tokenizer = tokenizer
        self.transform = transform

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, image_id, inchi = self.shards[index]
        image = np.asarray(image)
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image)),
            "tokens": torch.tensor(self.tokenizer.encode(inchi), dtype=torch.long),
            "image_id": image_id,
            "inchi": inchi,
        }


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


def list_images(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """Image files under ``folder`` (recursively, sorted by path) and the other files found."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    return images, others


class ImageFolderDataset(Dataset):
    """Unlabelled images cleaned exactly as in training; unreadable ones are flagged, not fatal."""

    def __init__(self, paths: list[Path], clean_params: CleanParams):
        self.paths = paths
        self.clean_params = clean_params

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.paths[index]
        try:
            image, error = clean(read_gray(path), self.clean_params), ""
        except ImageError as exc:
            size = self.clean_params.image_size
            image, error = np.full((size, size), 255, dtype=np.uint8), str(exc)
        return {"image": torch.from_numpy(image), "image_id": path.stem, "error": error}


def collate_images(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "images": torch.stack([s["image"] for s in samples]).unsqueeze(1),
        "image_ids": [s["image_id"] for s in samples],
        "errors": [s["error"] for s in samples],
    }


class InChIDataModule(L.LightningDataModule):
    """Batches of molecule images and tokenised InChIs from a shard directory.

    Args:
        shards: a directory written by ``preprocess`` (``train/``, ``val/``, ``test/`` splits).
        batch_size: samples per batch.
        num_workers: DataLoader worker processes.
        augment: scan-like augmentation of training images (never of val/test).
        quickstart: when set and ``shards`` does not exist, build this synthetic set there.
        predict_dir: folder of images (or a BMS ``test/`` tree) that ``predict`` reads.
    """

    def __init__(
        self,
        shards: str = "data/quickstart/shards",
        batch_size: int = 32,
        num_workers: int = 2,
        augment: bool = True,
        quickstart: QuickstartSettings | None = None,
        predict_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.shards = Path(shards)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.augment = augment
        self.quickstart = quickstart
        self.predict_dir = predict_dir
        self.tokenizer: InChITokenizer | None = None
        self.datasets: dict[str, Dataset] = {}

    def prepare_data(self) -> None:
        if self.trainer is not None and self.trainer.predicting:
            return  # predict reads data.predict_dir; the checkpoint carries the rest
        prepare_shards(self.shards, self.quickstart)

    def setup(self, stage: str) -> None:
        if stage == "predict":
            self.datasets["predict"] = self._predict_dataset()
            return
        self.tokenizer, _ = read_shard_spec(self.shards)
        self._check_vocabulary_matches_model()
        for split in ("train", "val", "test"):
            transform = train_augmentation() if split == "train" and self.augment else None
            shard_set = ShardSet(self.shards / split)
            self.datasets[split] = CaptionDataset(shard_set, self.tokenizer, transform)
        if stage == "fit" and len(self.datasets["train"]) == 0:
            raise ValueError(f"{self.shards / 'train'} holds no samples")

    def _check_vocabulary_matches_model(self) -> None:
        model = self.trainer.lightning_module if self.trainer is not None else None
        vocabulary = getattr(model, "vocabulary", None)
        if vocabulary is not None and list(vocabulary) != self.tokenizer.tokens:
            raise ValueError(
                f"the vocabulary of {self.shards} does not match the model's: preprocess the "
                "data with `--vocab` pointing at the vocabulary the model was trained with"
            )

    def _predict_dataset(self) -> ImageFolderDataset:
        if self.predict_dir is None:
            raise ValueError("predict needs data.predict_dir: a folder of images")
        images, others = list_images(self.predict_dir)
        if others:
            names = ", ".join(str(p) for p in others[:5])
            log.warning(
                "skipping %d non-image files in %s: %s", len(others), self.predict_dir, names
            )
        if not images:
            raise ValueError(f"no images found in {self.predict_dir}")
        clean_params = self.trainer.lightning_module.clean_params
        return ImageFolderDataset(images, clean_params)

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        dataset = self.datasets[split]
        collate = collate_images if split == "predict" else collate_captions
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=collate,
            persistent_workers=self.num_workers > 0 and split == "train",
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")
