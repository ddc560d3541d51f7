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
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from inchi_lightning.files import atomic_path, remove, temporaries, write_atomically
from inchi_lightning.imaging import CleanParams
from inchi_lightning.tokenizer import InChITokenizer

# The files of a whole shard directory (written by preprocess)...
VOCAB_FILE = "vocab.json"
MANIFEST_FILE = "manifest.json"
REJECTS_FILE = "rejects.csv"  # also inside each shard: that shard's own rejects
SPLITS = ("train", "val", "test")
# ...and of each shard.
IMAGES_FILE = "images.npy"
INDEX_FILE = "index.parquet"
GRAPH_COLUMN = "graph"  # index.parquet's optional column: each image's annotation as JSON
_SOURCE_KEY = b"inchi_lightning.source"  # index.parquet metadata: what the shard was made from
_SHARD_GLOB = "shard-[0-9][0-9][0-9][0-9][0-9]"  # final names only: temporaries are hidden

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
    graphs: Sequence[dict | None] | None = None,
) -> Path:
    """Write one shard atomically and return its final directory, ``split_dir/shard-NNNNN``.

    The same arguments always give the same bytes. When the final directory exists already
    (another writer finished first) that one stands and this write is discarded.

    Args:
        images: (N, S, S) uint8.
        image_ids, inchis: N each, in the order of ``images``.
        rejects: ``(row, image_id, reason)`` for the input rows of this shard left out.
        source: a fingerprint of what the shard was made from, read back by ``shard_source``.
        graphs: N annotations (``MolGraph.to_dict()`` in the shard's image pixels, None for an
            image without one), stored as a ``graph`` JSON column; a set without annotations
            writes no such column, so its bytes are those of a shard before annotations.
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
    columns = {"image_id": pa.array(image_ids, pa.string()), "InChI": pa.array(inchis, pa.string())}
    if graphs is not None and any(g is not None for g in graphs):
        if len(graphs) != len(image_ids):
            raise ValueError(f"{len(graphs)} graphs for {len(image_ids)} images")
        texts = [None if g is None else json.dumps(g, separators=(",", ":")) for g in graphs]
        columns[GRAPH_COLUMN] = pa.array(texts, pa.string())
    table = pa.table(columns)
    with atomic_path(final) as tmp:
        tmp.mkdir()
        np.save(tmp / IMAGES_FILE, np.ascontiguousarray(images))
        metadata = {_SOURCE_KEY: source.encode()}
        pq.write_table(table.replace_schema_metadata(metadata), tmp / INDEX_FILE)
        (tmp / REJECTS_FILE).write_text(rejects_csv(rejects))
    return final


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
    leftovers = temporaries(split_dir, _SHARD_GLOB)
    for path in leftovers:
        remove(path)
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
        self._graphs: list[str | None] = []  # JSON text per sample, None without annotation
        self._starts: list[int] = []  # index of each shard's first sample
        for shard_dir in self.shard_dirs:
            table = pq.read_table(shard_dir / INDEX_FILE)
            self._starts.append(len(self.image_ids))
            self.image_ids += table.column("image_id").to_pylist()
            self.inchis += table.column("InChI").to_pylist()
            has_graphs = GRAPH_COLUMN in table.column_names
            self._graphs += (
                table.column(GRAPH_COLUMN).to_pylist() if has_graphs else [None] * len(table)
            )
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

    def graph(self, index: int) -> dict | None:
        """Sample ``index``'s annotation (``MolGraph.to_dict()``, image pixels) or None."""
        text = self._graphs[index]
        return None if text is None else json.loads(text)

    def has_graph(self, index: int) -> bool:
        return self._graphs[index] is not None

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


# ---- the whole shard directory --------------------------------------------------------------


def write_rejects(shards: str | os.PathLike, rejects: Sequence[Reject]) -> None:
    write_atomically(Path(shards) / REJECTS_FILE, rejects_csv(rejects))


def write_shard_directory(
    shards: str | os.PathLike, tokenizer: InChITokenizer, rejects: Sequence[Reject], manifest: dict
) -> None:
    """vocab.json, rejects.csv, then manifest.json, each atomically, the manifest last: its
    presence says the directory is complete. Leftovers of killed writers are removed first."""
    shards = Path(shards)
    tokenizer.save(shards / VOCAB_FILE)
    write_rejects(shards, rejects)
    for split in SPLITS:  # every writer of this job has finished
        remove_leftovers(shards / split)
    write_atomically(shards / MANIFEST_FILE, json.dumps(manifest, indent=1) + "\n")


def read_manifest(shards: str | os.PathLike) -> dict | None:
    """The manifest of a finished shard directory; None when it is not finished (or none)."""
    path = Path(shards) / MANIFEST_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def read_clean_params(shards: str | os.PathLike) -> CleanParams | None:
    """The clean() settings a finished shard directory's images were made with, or None."""
    manifest = read_manifest(shards)
    return None if manifest is None else CleanParams(**manifest["clean"])


def read_shard_spec(shards: str | os.PathLike) -> tuple[InChITokenizer, CleanParams]:
    """The vocabulary and clean() parameters recorded in a finished shard directory.

    Raises:
        FileNotFoundError: the directory holds no finished set.
    """
    shards = Path(shards)
    clean_params = read_clean_params(shards)
    if clean_params is None:
        raise FileNotFoundError(f"no preprocessed shards at {shards} (no {MANIFEST_FILE})")
    return InChITokenizer.load(shards / VOCAB_FILE), clean_params
