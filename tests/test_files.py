"""files.py: one temporary-name scheme, synced renames, nothing half-written under a final name."""

import os

import pytest

from inchi_lightning.files import (
    atomic_path,
    temporaries,
    temporary_path,
    write_atomically,
)


def test_temporary_names_are_hidden_unique_and_found_by_their_final_name(tmp_path):
    first, second = temporary_path(tmp_path / "a.png"), temporary_path(tmp_path / "a.png")
    assert first != second and first.parent == tmp_path
    assert first.name.startswith(".a.png.tmp-")
    for path in (first, second, tmp_path / "a.png", tmp_path / ".hidden"):
        path.write_text("")
    assert temporaries(tmp_path, "*.png") == sorted([first, second])  # not a.png, not .hidden
    (tmp_path / "x" / "y").mkdir(parents=True)
    stray = temporary_path(tmp_path / "x" / "y" / "b.png")
    stray.write_bytes(b"half")
    temporary_path(tmp_path / "x" / "y" / "b.csv").write_text("other kind")
    assert temporaries(tmp_path, "*/*/*.png") == [stray]


def test_write_atomically_replaces_text_and_bytes_whole(tmp_path):
    path = tmp_path / "manifest.json"
    write_atomically(path, "old")
    write_atomically(path, "néw")
    assert path.read_text(encoding="utf-8") == "néw"
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as partial:
        partial.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["labels.csv"]


def test_a_directory_renamed_onto_a_finished_one_is_discarded(tmp_path):
    final = tmp_path / "shard-00000"
    for content in ("first", "second"):
        with atomic_path(final) as partial:
            partial.mkdir()
            (partial / "data").write_text(content)
    assert (final / "data").read_text() == "first"
    assert os.listdir(tmp_path) == ["shard-00000"]
