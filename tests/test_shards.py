"""The shard format: atomic, deterministic, memory-mapped, cheap to pickle."""

import pickle

import numpy as np
import pytest

from inchi_lightning.files import temporaries, temporary_path
from inchi_lightning.shards import (
    ShardSet,
    finished_shards,
    read_rejects,
    remove_leftovers,
    shard_source,
    write_shard,
)


def images(n: int, size: int = 8, offset: int = 0) -> np.ndarray:
    return (np.arange(n * size * size).reshape(n, size, size) + offset).astype(np.uint8)


@pytest.fixture
def split_dir(tmp_path):
    """Three shards: 3 samples, none (every row rejected), 2 samples."""
    write_shard(tmp_path, 0, images(3), ["a", "b", "c"], ["I1", "I2", "I3"], [(4, "x", "why")])
    write_shard(tmp_path, 1, images(0), [], [], [(7, "y", "missing file")])
    write_shard(tmp_path, 2, images(2, offset=7), ["d", "e"], ["I4", "I5"], source="abc")
    return tmp_path


def test_round_trip_across_shards(split_dir):
    shards = ShardSet(split_dir)
    assert len(shards) == 5
    assert shards.image_ids == ["a", "b", "c", "d", "e"]
    assert shards.inchis == ["I1", "I2", "I3", "I4", "I5"]
    image, image_id, inchi = shards[3]
    assert (image_id, inchi) == ("d", "I4")
    assert image.dtype == np.uint8 and np.array_equal(image, images(2, offset=7)[0])
    assert shards[-1][1] == "e"
    with pytest.raises(IndexError):
        shards[5]
    assert read_rejects(split_dir / "shard-00000") == [(4, "x", "why")]
    assert read_rejects(split_dir / "shard-00001") == [(7, "y", "missing file")]
    assert shard_source(split_dir / "shard-00002") == "abc"


def test_images_are_memory_mapped_and_never_pickled(split_dir):
    shards = ShardSet(split_dir)
    shards[0], shards[4]
    assert isinstance(shards.shard_images(0), np.memmap)
    assert shards.shard_images(0).filename is not None  # a map of the file, not a copy
    payload = pickle.dumps(shards)
    assert len(payload) < 1000  # the index only: 5 images of 64 bytes would not fit
    copy = pickle.loads(payload)
    assert copy._images == {}  # the copy maps the files itself, on first access
    assert copy[4][1] == "e"


def test_temporary_leftovers_are_ignored_and_removable(split_dir):
    leftover = temporary_path(split_dir / "shard-00003")
    leftover.mkdir()
    (leftover / "images.npy").write_bytes(b"half a file")
    assert [p.name for p in finished_shards(split_dir)] == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
    ]
    assert len(ShardSet(split_dir)) == 5
    assert remove_leftovers(split_dir) == [leftover] and not leftover.exists()


def test_missing_or_empty_split_has_no_samples(tmp_path):
    assert len(ShardSet(tmp_path / "nothing")) == 0
    assert len(ShardSet(tmp_path)) == 0


def test_writing_is_deterministic(tmp_path):
    for name in ("one", "two"):
        write_shard(tmp_path / name, 0, images(3), ["a", "b", "c"], ["I1", "I2", "I3"])
    for file in ("images.npy", "index.parquet", "rejects.csv"):
        first = (tmp_path / "one" / "shard-00000" / file).read_bytes()
        assert first == (tmp_path / "two" / "shard-00000" / file).read_bytes()


def test_a_finished_shard_is_not_replaced(tmp_path):
    write_shard(tmp_path, 0, images(1), ["a"], ["I1"])
    write_shard(tmp_path, 0, images(1, offset=1), ["z"], ["I9"])
    assert ShardSet(tmp_path).image_ids == ["a"]
    assert temporaries(tmp_path, "*") == []


def test_mismatched_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="2 images, 1 image ids and 2 InChIs"):
        write_shard(tmp_path, 0, images(2), ["a"], ["I1", "I2"])
    assert not list(tmp_path.iterdir())


def test_annotations_travel_in_an_optional_graph_column(tmp_path):
    graph = {"atoms": [[1.5, 2.5, "C", 0]], "bonds": []}
    write_shard(tmp_path / "with", 0, images(2), ["a", "b"], ["I1", "I2"], graphs=[graph, None])
    write_shard(tmp_path / "without", 0, images(2), ["a", "b"], ["I1", "I2"], graphs=[None, None])
    write_shard(tmp_path / "plain", 0, images(2), ["a", "b"], ["I1", "I2"])
    annotated = ShardSet(tmp_path / "with")
    assert (annotated.graph(0), annotated.graph(1)) == (graph, None)
    assert [annotated.has_graph(i) for i in range(2)] == [True, False]
    assert ShardSet(tmp_path / "plain").graph(1) is None
    index = "shard-00000/index.parquet"
    assert (tmp_path / "without" / index).read_bytes() == (tmp_path / "plain" / index).read_bytes()
    with pytest.raises(ValueError, match="1 graphs for 2 images"):
        write_shard(tmp_path / "bad", 0, images(2), ["a", "b"], ["I1", "I2"], graphs=[graph])
