"""union.py: one shard directory over several, read as one set by a fit."""

from __future__ import annotations

import json
import shutil

import pytest

from inchi_lightning.prep.union import union_shards
from inchi_lightning.shards import ShardSet, read_manifest, read_shard_spec


def test_a_union_reads_every_sources_train_split_as_often_as_asked(tiny_shards, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_shards, other)
    manifest = union_shards(tmp_path / "union", [(tiny_shards, 1), (other, 2)])
    train = ShardSet(tmp_path / "union" / "train")
    alone = ShardSet(tiny_shards / "train")
    assert len(train) == 3 * len(alone) == manifest["splits"]["train"]
    assert train.image_ids == alone.image_ids * 3
    assert train.graph(0) == alone.graph(0)
    assert ShardSet(tmp_path / "union" / "val").image_ids == ShardSet(tiny_shards / "val").image_ids
    assert read_manifest(tmp_path / "union")["union"][1]["repeat"] == 2
    tokenizer, params = read_shard_spec(tmp_path / "union")
    assert tokenizer.fingerprint == read_shard_spec(tiny_shards)[0].fingerprint


def test_a_source_with_another_vocabulary_or_cleaning_is_refused(tiny_shards, tmp_path):
    vocab = tmp_path / "vocab"
    shutil.copytree(tiny_shards, vocab)
    tokens = json.loads((vocab / "vocab.json").read_text())
    tokens["tokens"] = [*tokens["tokens"], "Xx"]
    (vocab / "vocab.json").write_text(json.dumps(tokens))
    with pytest.raises(ValueError, match="another vocabulary"):
        union_shards(tmp_path / "u1", [(tiny_shards, 1), (vocab, 1)])
    cleaned = tmp_path / "cleaned"
    shutil.copytree(tiny_shards, cleaned)
    manifest = json.loads((cleaned / "manifest.json").read_text())
    manifest["clean"]["threshold"] += 1
    (cleaned / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="cleaned with"):
        union_shards(tmp_path / "u2", [(tiny_shards, 1), (cleaned, 1)])
    with pytest.raises(ValueError, match="at least once"):
        union_shards(tmp_path / "u3", [(tiny_shards, 0)])
    with pytest.raises(ValueError, match="exists"):
        union_shards(tmp_path / "vocab", [(tiny_shards, 1)])
    with pytest.raises(FileNotFoundError):
        union_shards(tmp_path / "u4", [(tmp_path / "nothing", 1)])
    assert not (tmp_path / "u1").exists() and not (tmp_path / "u2").exists()
