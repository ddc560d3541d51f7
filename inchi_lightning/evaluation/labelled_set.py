"""A checkpoint run over a labelled image set: the rows of either layout, cleaned as ``predict``
cleans them, or a split of a shard directory (cleaned already), decoded, and post-processed with
RDKit (``evaluate`` scores the outcome)."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from inchi_lightning.chem import postprocess
from inchi_lightning.evaluation.scoring import Sample
from inchi_lightning.imaging import CleanParams
from inchi_lightning.labels_file import Row
from inchi_lightning.prep.labels import Layout, find_layout, read_rows
from inchi_lightning.shards import ShardSet, finished_shards, read_clean_params
from inchi_lightning.training.checkpoints import check_checkpoint, model_class_path
from inchi_lightning.training.data import ImageFolderDataset, ShardImages, collate_images
from inchi_lightning.training.graph_module import GraphReader
from inchi_lightning.training.module import InChICaptioner

log = logging.getLogger(__name__)


class LabelledImages(ImageFolderDataset):
    """The images of labelled rows, cleaned as for ``predict``, each with its label."""

    def __init__(
        self,
        layout: Layout,
        rows: Sequence[Row],
        clean_params: CleanParams,
        reading_sizes: Sequence[int] = (),
    ):
        paths = [layout.image_path(row.image_id) for row in rows]
        super().__init__(paths, clean_params, reading_sizes)
        self.rows = list(rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        return {**super().__getitem__(index), "image_id": row.image_id, "inchi": row.inchi}


def shard_split(split_dir: Path, clean_params: CleanParams) -> ShardImages:
    """A shard split, refused unless its images were cleaned as the model's training images.

    Raises:
        ValueError: the shards' clean() settings (or, without a manifest, image size) differ.
    """
    shards = ShardSet(split_dir)
    theirs = read_clean_params(split_dir.parent)
    if theirs is None:
        theirs = dataclasses.replace(clean_params, image_size=shards[0][0].shape[0])
    if theirs != clean_params:
        raise ValueError(
            f"{split_dir} was cleaned with {theirs}, the checkpoint's model with {clean_params}"
        )
    return ShardImages(shards)


def labelled_images(
    images_dir: str | Path,
    clean_params: CleanParams,
    limit: int | None = None,
    reading_sizes: Sequence[int] = (),
) -> Dataset:
    """The first ``limit`` labelled images (all when None) of a folder in either layout, or of
    a shard split, ready for the model; images read from files are also cleaned at each of
    ``reading_sizes`` (``ImageFolderDataset``), a shard split's only as they were stored.

    Raises:
        FileNotFoundError: ``images_dir`` is not a directory.
        ValueError: no labels file or no rows, or shards cleaned unlike the model's.
    """
    images_dir = Path(images_dir)
    if finished_shards(images_dir):
        images = shard_split(images_dir, clean_params)
        return Subset(images, range(min(limit or len(images), len(images))))
    layout, rows = read_labelled_rows(images_dir, limit)
    return LabelledImages(layout, rows, clean_params, reading_sizes)


def collate_labelled(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {**collate_images(samples), "inchis": [s["inchi"] for s in samples]}


def read_labelled_rows(
    images_dir: str | Path, limit: int | None = None
) -> tuple[Layout, list[Row]]:
    """The layout of ``images_dir`` and its first ``limit`` labelled rows (all when None).

    Raises:
        FileNotFoundError: ``images_dir`` is not a directory.
        ValueError: it has no labels file, or the file has no rows.
    """
    if not Path(images_dir).is_dir():
        raise FileNotFoundError(f"no directory {images_dir}")
    layout = find_layout(images_dir)
    rows, refused = read_rows(layout)
    if refused:  # ids that name no image of this folder: never read, never scored
        listed = ", ".join(f"row {row} ({reason})" for row, _, reason in refused[:5])
        log.warning("skipping %d rows of %s: %s", len(refused), layout.labels, listed)
    rows = rows[:limit]
    if not rows:
        raise ValueError(f"{layout.labels} holds no labels")
    return layout, rows


READERS = {f"{c.__module__}.{c.__qualname__}": c for c in (InChICaptioner, GraphReader)}


def load_reader(ckpt_path: str | Path) -> InChICaptioner | GraphReader:
    """The trained model a checkpoint holds (the class it names), from the checkpoint alone,
    read with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no file at ``ckpt_path``.
        ValueError: the file is not a checkpoint of this project's models.
    """
    # The same one-line refusals as fit/validate/test/predict, and the class the file names.
    hparams = check_checkpoint(ckpt_path)
    reader = READERS.get(model_class_path(hparams))
    if reader is None:
        raise ValueError(f"{ckpt_path} holds {model_class_path(hparams)}, which reads no images")
    try:
        model = reader.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)
    except (RuntimeError, KeyError, ValueError) as exc:  # ours, but not this model's weights
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{ckpt_path} is not a usable checkpoint: {reason}") from exc
    return model.eval()


def predict_labelled(
    ckpt_path: str | Path,
    images_dir: str | Path,
    beam_width: int | None = None,
    rdkit: bool = True,
    batch_size: int = 32,
    num_workers: int = 2,
    limit: int | None = None,
    progress: bool = True,
) -> list[Sample]:
    """Every labelled image's prediction after each post-processing step, in label-file order.

    Args:
        beam_width: candidates per image; None keeps the checkpoint's setting.
        rdkit: choose the first valid candidate and normalise it (otherwise raw only).
        limit: evaluate only the first ``limit`` rows of the labels file.
    """
    if not Path(images_dir).is_dir():  # before the seconds that loading a model takes
        raise FileNotFoundError(f"no directory {images_dir}")
    model = load_reader(ckpt_path)
    if beam_width is not None:
        model.hparams.beam_width = beam_width
    images = labelled_images(
        images_dir, model.clean_params, limit, getattr(model, "reading_sizes", ())
    )
    return read_samples(model, images, rdkit, batch_size, num_workers, progress)


def read_samples(
    model: InChICaptioner | GraphReader,
    images: Dataset,
    rdkit: bool = True,
    batch_size: int = 32,
    num_workers: int = 2,
    progress: bool = True,
) -> list[Sample]:
    """Each labelled image of ``images`` (``labelled_images``, or ``LabelledImages`` cleaned
    with other settings) read by ``model`` and post-processed (``rdkit`` as for
    ``predict_labelled``), in order."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    loader = DataLoader(
        images, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_labelled
    )
    samples = []
    with torch.inference_mode():
        for batch in tqdm(loader, desc="evaluating", unit="batch", disable=not progress):
            # The graph recogniser re-reads an image at the scale its bonds ask for.
            rescaled = {"rescaled": batch["rescaled"]} if "rescaled" in batch else {}
            candidates, scores = model.decode(batch["images"].to(device), **rescaled)
            for image_id, truth, error, beams, beam_scores in zip(
                batch["image_ids"], batch["inchis"], batch["errors"], candidates,
                scores.tolist(), strict=True,
            ):  # fmt: skip
                # An unreadable image has no candidates: an empty prediction.
                prediction = postprocess([] if error else beams, choose=rdkit, normalise=rdkit)
                confidence = math.nan if error else beam_scores[prediction.chosen_index]
                samples.append(Sample(image_id, truth, prediction, error, confidence))
    return samples
