import pickle

import numpy as np
import pytest

from inchi_lightning.shards import ShardSet, finished_shards, read_rejects, write_shard


def images(n: int, size: int = 8, offset: int = 0) -> np.ndarray:
    return (np.arange(n * size * size).reshape(n, size, size) + offset).astype(np.uint8)


@pytest.fixture
def split_dir(tmp_path):
    write_shard(tmp_path, 0, images(3), ["a", "b", "c"], ["I1", "I2", "I3"], [(4, "x", "why")])
    write_shard(tmp_path, 1, images(2, offset=7), ["d", "e"], ["I4", "I5"])
    return tmp_path


def test_round_trip_across_shards(split_dir):
    shards = ShardSet(split_dir)
    assert len(shards) == 5
    assert shards.image_ids == ["a", "b", "c", "d", "e"]
    image, image_id, inchi = shards[3]
    assert (image_id, inchi) == ("d", "I4")
    assert np.array_equal(image, images(2, offset=7)[0])
    assert shards[-1][1] == "e"
    with pytest.raises(IndexError):
        shards[5]
    assert read_rejects(split_dir / "shard-00000") == [(4, "x", "why")]


def test_images_are_memory_mapped_and_not_pickled(split_dir):
    shards = ShardSet(split_dir)
    shards[0]
    assert all(isinstance(a, np.memmap) for a in shards.images)
    payload = pickle.dumps(shards)
    assert len(payload) < 1000
    assert pickle.loads(payload)[4][1] == "e"


def test_temporary_leftovers_are_ignored(split_dir):
    (split_dir / "shard-00002.tmp-123-abcd").mkdir()
    assert [p.name for p in finished_shards(split_dir)] == ["shard-00000", "shard-00001"]
    assert len(ShardSet(split_dir)) == 5


def test_missing_split_is_empty(tmp_path):
    assert len(ShardSet(tmp_path / "nothing")) == 0


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
    assert not list(tmp_path.glob("*.tmp-*"))


def test_mismatched_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        write_shard(tmp_path, 0, images(2), ["a"], ["I1", "I2"])
