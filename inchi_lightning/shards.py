"""The shard format: one directory per shard, written atomically, read by random access.

A shard directory (``SPLIT/shard-00000/``) holds ``images.npy`` ((N, S, S) uint8),
``index.parquet`` (``image_id``, ``InChI``) and ``rejects.csv`` (``row,image_id,reason``: the
input rows planned for this shard that were left out, so a resumed job still knows them). It is
written under a temporary name and renamed into place: a shard directory that exists is
complete, and a job killed at any moment never leaves half a shard under a final name.

Images are opened with ``np.load(mmap_mode="r")``: every DataLoader worker and DDP rank on a
node shares one copy in the page cache, and nothing is read before it is asked for.
"""

from __future__ import annotations

import bisect
import csv
import io
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# The files of a whole shard directory (written by preprocess)...
VOCAB_FILE = "vocab.json"
MANIFEST_FILE = "manifest.json"
REJECTS_FILE = "rejects.csv"  # also inside each shard: that shard's own rejects
SPLITS = ("train", "val", "test")
# ...and of each shard.
IMAGES_FILE = "images.npy"
INDEX_FILE = "index.parquet"
_SOURCE_KEY = b"inchi_lightning.source"  # index.parquet metadata: what the shard was made from
_SHARD_GLOB = "shard-[0-9][0-9][0-9][0-9][0-9]"  # final names only: never a .tmp- leftover

Reject = tuple[int, str, str]  # (row, image_id, reason)


def shard_name(index: int) -> str:
    """``shard-00042``: zero-padded, so that names sort in shard order."""
    return f"shard-{index:05d}"


def write_shard(
    split_dir: str | os.PathLike,
    shard_index: int,
    images: np.ndarray,
    image_ids: Sequence[str],
    inchis: Sequence[str],
    rejects: Sequence[Reject] = (),
    source: str = "",
) -> Path:
    """Write one shard atomically and return its final directory, ``split_dir/shard-NNNNN``.

    The same arguments always give the same bytes. When the final directory exists already
    (another writer finished first) that one stands and this write is discarded.

    Args:
        images: (N, S, S) uint8.
        image_ids, inchis: N each, in the order of ``images``.
        rejects: ``(row, image_id, reason)`` for the input rows of this shard left out.
        source: a fingerprint of what the shard was made from, read back by ``shard_source``.
    """
    if not len(images) == len(image_ids) == len(inchis):
        raise ValueError(
            f"{len(images)} images, {len(image_ids)} image ids and {len(inchis)} InChIs"
        )
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be (N, S, S) uint8, not {images.shape} {images.dtype}")
    split_dir = Path(split_dir)
    split_dir.mkdir(parents=True, exist_ok=True)
    final = split_dir / shard_name(shard_index)
    tmp = split_dir / f"{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    np.save(tmp / IMAGES_FILE, np.ascontiguousarray(images))
    table = pa.table(
        {"image_id": pa.array(image_ids, pa.string()), "InChI": pa.array(inchis, pa.string())}
    )
    pq.write_table(table.replace_schema_metadata({_SOURCE_KEY: source.encode()}), tmp / INDEX_FILE)
    (tmp / REJECTS_FILE).write_text(rejects_csv(rejects))
    for path in (tmp / IMAGES_FILE, tmp / INDEX_FILE, tmp / REJECTS_FILE, tmp):
        _fsync(path)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp)
    _fsync(split_dir)  # makes the rename itself durable
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rejects_csv(rejects: Sequence[Reject]) -> str:
    """``row,image_id,reason`` lines with a header, as written to every ``rejects.csv``."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([("row", "image_id", "reason"), *rejects])
    return buffer.getvalue()


def read_rejects(shard_dir: str | os.PathLike) -> list[Reject]:
    """The rejects recorded in a shard (or shard directory's) ``rejects.csv``."""
    with (Path(shard_dir) / REJECTS_FILE).open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [(int(row), image_id, reason) for row, image_id, reason in rows]


def shard_source(shard_dir: str | os.PathLike) -> str:
    """The ``source`` fingerprint a shard was written with ("" when none was given)."""
    metadata = pq.read_schema(Path(shard_dir) / INDEX_FILE).metadata or {}
    return metadata.get(_SOURCE_KEY, b"").decode()


def finished_shards(split_dir: str | os.PathLike) -> list[Path]:
    """The complete shard directories of a split, in order; temporary leftovers are ignored."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        return []
    return sorted(path for path in split_dir.glob(_SHARD_GLOB) if path.is_dir())


def remove_leftovers(split_dir: str | os.PathLike) -> list[Path]:
    """Delete the temporary directories of interrupted writes; returns what was removed.

    Only safe when no writer is at work on ``split_dir``.
    """
    split_dir = Path(split_dir)
    leftovers = sorted(split_dir.glob(f"{_SHARD_GLOB}.tmp-*")) if split_dir.is_dir() else []
    for path in leftovers:
        shutil.rmtree(path)
    return leftovers


class ShardSet(Sequence):
    """Random access to the samples of one split: ``[i] -> (image (S, S) uint8, id, InChI)``.

    ``image_ids`` and ``inchis`` are plain lists in sample order. A missing or empty split has
    length 0. Each shard's images are memory-mapped on first access, separately in every
    process: pickling (DataLoader workers, Ray) carries the index, never the images.
    """

    def __init__(self, split_dir: str | os.PathLike) -> None:
        self.split_dir = Path(split_dir)
        self.shard_dirs = finished_shards(self.split_dir)
        self.image_ids: list[str] = []
        self.inchis: list[str] = []
        self._starts: list[int] = []  # index of each shard's first sample
        for shard_dir in self.shard_dirs:
            table = pq.read_table(shard_dir / INDEX_FILE)
            self._starts.append(len(self.image_ids))
            self.image_ids += table.column("image_id").to_pylist()
            self.inchis += table.column("InChI").to_pylist()
        self._images: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str, str]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} of {len(self)}")
        index %= len(self)
        shard = bisect.bisect_right(self._starts, index) - 1
        image = self.shard_images(shard)[index - self._starts[shard]]
        # A copy: the map is read-only, and a tensor made from it would not own its memory.
        return np.array(image), self.image_ids[index], self.inchis[index]

    def shard_images(self, shard: int) -> np.ndarray:
        """The (N, S, S) uint8 ``np.memmap`` of shard number ``shard``, mapped on first use."""
        if shard not in self._images:
            images = np.load(self.shard_dirs[shard] / IMAGES_FILE, mmap_mode="r")
            end = self._starts[shard + 1] if shard + 1 < len(self._starts) else len(self)
            if len(images) != end - self._starts[shard]:
                raise ValueError(f"{self.shard_dirs[shard]}: images and index differ in length")
            self._images[shard] = images
        return self._images[shard]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": {}}
