"""A checkpoint run over a labelled image set: the rows of either layout, read as ``predict``
reads them, or a split of a shard directory (cleaned already), and post-processed with RDKit
step by step (``evaluate`` scores the outcome)."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inchi_lightning.chemistry.inchi import postprocess
from inchi_lightning.evaluation.scoring import Sample
from inchi_lightning.imaging import CleanParams
from inchi_lightning.labels_file import Row
from inchi_lightning.prep.labels import Layout, find_layout, read_rows
from inchi_lightning.reading.reader import Reader
from inchi_lightning.reading.readings import Reading
from inchi_lightning.shards import ShardSet, finished_shards, read_clean_params

log = logging.getLogger(__name__)


def shard_split(split_dir: Path, clean_params: CleanParams) -> ShardSet:
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
    return shards


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


def predict_labelled(
    ckpt_path: str | Path | None,
    images_dir: str | Path,
    rdkit: bool = True,
    limit: int | None = None,
    progress: bool = True,
    **reader_settings: Any,
) -> list[Sample]:
    """Every labelled image's prediction after each post-processing step, in label-file order,
    read by ``Reader`` as ``predict`` reads it (a shard split: as it was cleaned).

    Args:
        ckpt_path: the checkpoint; None: the shipped model.
        rdkit: choose the first valid candidate and normalise it (otherwise raw only).
        limit: evaluate only the first ``limit`` rows of the labels file.
        reader_settings: ``Reader``'s (batch size, threads, vote, precision, beam width).

    Raises:
        FileNotFoundError: ``images_dir`` is not a directory, or no checkpoint.
        ValueError: no labels, a checkpoint not of this project, or shards cleaned unlike it.
    """
    if not Path(images_dir).is_dir():  # before the seconds that loading a model takes
        raise FileNotFoundError(f"no directory {images_dir}")
    with Reader(ckpt_path, rdkit=rdkit, **reader_settings) as reader:
        if finished_shards(images_dir):
            labels, readings = _read_shard_split(reader, Path(images_dir), limit)
        else:
            layout, rows = read_labelled_rows(images_dir, limit)
            labels = [(row.image_id, row.inchi) for row in rows]
            paths = [layout.image_path(row.image_id) for row in rows]
            readings = list(reader.iter_read(paths, progress=progress, total=len(paths)))
    return [
        Sample(
            image_id,
            truth,
            postprocess(list(reading.candidates), choose=rdkit, normalise=rdkit),
            reading.error,
            math.nan if reading.error else reading.confidence,
        )
        for (image_id, truth), reading in zip(labels, readings, strict=True)
    ]


def _read_shard_split(
    reader: Reader, split_dir: Path, limit: int | None
) -> tuple[list[tuple[str, str]], list[Reading]]:
    """(image id, InChI) and the reading of the first ``limit`` images of a shard split."""
    shards = shard_split(split_dir, reader.clean_params)
    count = min(limit or len(shards), len(shards))
    labels, readings = [], []
    for start in range(0, count, reader.batch_size):
        batch = [shards[index] for index in range(start, min(start + reader.batch_size, count))]
        images = torch.from_numpy(np.stack([image for image, _, _ in batch]))[:, None]
        readings += reader.read_cleaned(images)
        labels += [(image_id, inchi) for _, image_id, inchi in batch]
    return labels, readings
