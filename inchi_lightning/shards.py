"""The shard format: one directory per shard, written atomically, read by random access.

A shard directory holds ``images.npy`` ((N, S, S) uint8), ``index.parquet`` (``image_id``,
``InChI``) and ``rejects.csv`` (the rows of its part of the input that were not usable). It is
written under a temporary name and renamed into place, so a shard directory that exists is
complete, and a run killed at any moment never leaves a half shard behind under a final name.

Images are opened with ``np.load(mmap_mode="r")``: every DataLoader worker and DDP rank on a node
shares one copy in the page cache, and nothing is loaded before it is read.
"""

from __future__ import annotations

import bisect
import csv
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# Files of a shard directory as a whole...
VOCAB_FILE = "vocab.json"
MANIFEST_FILE = "manifest.json"
REJECTS_FILE = "rejects.csv"  # (also inside each shard: that shard's own rejects)
# ...and of each shard.
IMAGES_FILE = "images.npy"
INDEX_FILE = "index.parquet"
SPLITS = ("train", "val", "test")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


def write_shard(
    split_dir: str | os.PathLike,
    shard_index: int,
    images: np.ndarray,
    image_ids: Sequence[str],
    inchis: Sequence[str],
    rejects: Sequence[tuple[int, str, str]] = (),
) -> Path:
    """Write one shard atomically and return its final directory.

    Args:
        images: (N, S, S) uint8.
        image_ids, inchis: N each, in the order of ``images``.
        rejects: ``(row, image_id, reason)`` for the input rows of this shard left out.
    """
    if not (len(images) == len(image_ids) == len(inchis)):
        raise ValueError("images, image_ids and inchis must have the same length")
    split_dir = Path(split_dir)
    final = split_dir / shard_name(shard_index)
    tmp = split_dir / f"{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    np.save(tmp / IMAGES_FILE, np.ascontiguousarray(images, dtype=np.uint8))
    table = pa.table({"image_id": list(image_ids), "InChI": list(inchis)})
    pq.write_table(table, tmp / INDEX_FILE)
    with (tmp / REJECTS_FILE).open("w", newline="") as handle:
        csv.writer(handle).writerows([("row", "image_id", "reason"), *rejects])
    for name in (IMAGES_FILE, INDEX_FILE, REJECTS_FILE):
        _fsync(tmp / name)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp)  # another writer finished the same shard first: theirs stands
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finished_shards(split_dir: str | os.PathLike) -> list[Path]:
    """The complete shard directories of a split, in order; temporary leftovers are ignored."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        return []
    return sorted(p for p in split_dir.glob("shard-[0-9][0-9][0-9][0-9][0-9]") if p.is_dir())


def read_rejects(shard_dir: str | os.PathLike) -> list[tuple[int, str, str]]:
    with (Path(shard_dir) / REJECTS_FILE).open(newline="") as handle:
        return [
            (int(row), image_id, reason) for row, image_id, reason in list(csv.reader(handle))[1:]
        ]


class ShardSet(Sequence):
    """Random access to the samples of one split: ``[i] -> (image (S, S) uint8, id, InChI)``.

    A missing or empty split has length 0. Pickling (for DataLoader workers) carries only the
    index, never the images: each process maps the files itself.
    """

    def __init__(self, split_dir: str | os.PathLike) -> None:
        self.split_dir = Path(split_dir)
        self.shard_dirs = finished_shards(self.split_dir)
        self.image_ids: list[str] = []
        self.inchis: list[str] = []
        self._starts: list[int] = []
        for shard_dir in self.shard_dirs:
            table = pq.read_table(shard_dir / INDEX_FILE)
            self._starts.append(len(self.image_ids))
            self.image_ids += table.column("image_id").to_pylist()
            self.inchis += table.column("InChI").to_pylist()
        self._images: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str, str]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} of {len(self)}")
        index %= len(self)
        shard = bisect.bisect_right(self._starts, index) - 1
        image = self.images[shard][index - self._starts[shard]]
        # A copy: tensors made from a read-only memory map would share (and could not own) it.
        return np.array(image), self.image_ids[index], self.inchis[index]

    @property
    def images(self) -> list[np.ndarray]:
        """The memory-mapped (N, S, S) arrays, one per shard, mapped on first use."""
        if self._images is None:
            self._images = [np.load(d / IMAGES_FILE, mmap_mode="r") for d in self.shard_dirs]
        return self._images

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}
