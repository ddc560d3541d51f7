"""One shard directory over several: a fit reads the train shards of every source, some more
than once, and the first source's vocabulary, clean() settings and held-out splits.

A fine-tune mixes the set a model was trained on with newer drawings (``configs/graph-finetune
.yaml``); preprocessing them all again into one directory would take longer than drawing them.
The union links instead of copying: its train split is symbolic links to the sources' finished
train shards, renumbered, and its val and test splits link the first source's, so a model's
held-out numbers stay comparable. Sources must share the vocabulary and clean() settings (a
set preprocessed with ``--vocab`` of the first does): another would read other pixels or tokens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from inchi_lightning.files import write_atomically
from inchi_lightning.imaging import CleanParams
from inchi_lightning.shards import (
    MANIFEST_FILE,
    VOCAB_FILE,
    ShardSet,
    finished_shards,
    read_manifest,
    read_shard_spec,
    shard_name,
)


def union_shards(out: str | os.PathLike, sources: Sequence[tuple[str | os.PathLike, int]]) -> dict:
    """Write shard directory ``out`` over ``sources`` ((directory, times its train split is
    read)), the first giving vocabulary, settings, val and test; return its manifest.

    Raises ValueError for no sources, a repeat below 1, a source whose vocabulary or clean()
    settings differ from the first's, or an ``out`` that exists; FileNotFoundError for a source
    that is not a finished shard directory.
    """
    if not sources:
        raise ValueError("a union needs at least one source")
    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} exists: a union is written once, into a new directory")
    first = Path(sources[0][0]).resolve()
    tokenizer, clean_params = read_shard_spec(first)
    train_shards: list[Path] = []
    parts = []
    for source, repeat in sources:
        source = Path(source).resolve()
        if repeat < 1:
            raise ValueError(f"{source}: read {repeat} times; at least once")
        _check_same_spec(source, tokenizer.fingerprint, clean_params)
        shards = finished_shards(source / "train")
        train_shards += shards * repeat
        parts.append({"source": str(source), "train_shards": len(shards), "repeat": repeat})
    (out / "train").mkdir(parents=True)
    for number, shard in enumerate(train_shards):
        (out / "train" / shard_name(number)).symlink_to(shard, target_is_directory=True)
    for split in ("val", "test"):
        if (first / split).is_dir():
            (out / split).symlink_to(first / split, target_is_directory=True)
    manifest = read_manifest(first)
    manifest["splits"]["train"] = len(ShardSet(out / "train"))
    manifest["union"] = parts
    held_out = [name for name in manifest.get("shards", []) if not name.startswith("train/")]
    manifest["shards"] = [f"train/{shard_name(n)}" for n in range(len(train_shards))] + held_out
    write_atomically(out / VOCAB_FILE, (first / VOCAB_FILE).read_text())
    write_atomically(out / MANIFEST_FILE, json.dumps(manifest, indent=1) + "\n")  # last: done
    return manifest


def _check_same_spec(source: Path, fingerprint: str, clean_params: CleanParams) -> None:
    tokenizer, params = read_shard_spec(source)
    if tokenizer.fingerprint != fingerprint:
        raise ValueError(
            f"{source}: another vocabulary than the first source's "
            "(preprocess it with --vocab FIRST/vocab.json)"
        )
    if params != clean_params:
        raise ValueError(f"{source}: cleaned with {params}, the first source with {clean_params}")
