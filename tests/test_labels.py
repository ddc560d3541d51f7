"""labels.py: the two layouts, the rows of a labels file, and every label check."""

from __future__ import annotations

import pytest

from inchi_lightning.labels_file import Row
from inchi_lightning.prep.labels import (
    InputError,
    accept_labels,
    check_labels,
    check_vocabulary,
    find_layout,
    held_out_molecules,
    read_rows,
    split_of,
    without_held_out,
)
from inchi_lightning.prep.tasks import task_runner
from inchi_lightning.tokenizer import InChITokenizer

GOOD = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"
CHLORIDE = "InChI=1S/CH3Cl/c1-2/h1H3"
UNPARSABLE = GOOD + "/zz"
ALANINE = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)"
L_ALANINE = ALANINE + "/t2-/m0/s1"  # the same molecule with its stereocentre


def test_bms_and_flat_layouts_and_neither(tmp_path):
    (tmp_path / "bms").mkdir()
    (tmp_path / "bms" / "train_labels.csv").write_text("image_id,InChI\n")
    bms = find_layout(tmp_path / "bms")
    assert bms.image_path("abc123") == tmp_path / "bms" / "train" / "a" / "b" / "c" / "abc123.png"
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "labels.csv").write_text("image_id,InChI\n")
    assert find_layout(tmp_path / "flat").image_path("x") == tmp_path / "flat" / "images" / "x.png"
    with pytest.raises(InputError, match="neither train_labels.csv"):
        find_layout(tmp_path)


def test_rows_are_read_with_a_byte_order_mark_and_empty_cells(tmp_path):
    (tmp_path / "labels.csv").write_text(f'\ufeffimage_id,InChI\na,"{GOOD}"\n,\n', encoding="utf-8")
    assert read_rows(find_layout(tmp_path)) == ([Row(0, "a", GOOD)], [(1, "", "empty image_id")])


def test_a_labels_file_without_its_columns_is_an_input_error(tmp_path):
    (tmp_path / "labels.csv").write_text("id,smiles\n")
    with pytest.raises(InputError, match="has no InChI or image_id column"):
        read_rows(find_layout(tmp_path))


def test_label_checks():
    rows = [
        Row(0, "a", GOOD),
        Row(1, "a", GOOD),
        Row(3, "b", ""),
        Row(4, "c", GOOD + " "),
        Row(5, "d", "InChI=1/CH4/h1H4"),
    ]
    accepted, rejects = check_labels(rows)
    assert accepted == rows[:1]
    assert [reason for _, _, reason in rejects] == [
        "duplicate image_id: first at row 0",
        "empty label",
        "label has surrounding whitespace",
        "not a standard InChI: no InChI=1S/ prefix",
    ]


def test_a_label_with_tokens_outside_the_vocabulary_is_rejected_with_them():
    vocabulary = InChITokenizer.build([GOOD])
    accepted, rejects = check_vocabulary([Row(0, "a", GOOD), Row(1, "b", CHLORIDE)], vocabulary)
    assert accepted == [Row(0, "a", GOOD)]
    assert rejects == [(1, "b", "tokens not in the vocabulary: Cl")]


def test_accept_labels_builds_the_vocabulary_from_training_rows_that_rdkit_parses():
    rows = [Row(0, "a", GOOD), Row(1, "b", UNPARSABLE), Row(2, "c", CHLORIDE)]
    val_ids = {"c"}
    with task_runner(address=None, num_cpus=1, processes=True) as tasks:
        accepted, vocabulary, rejects = accept_labels(
            rows, None, lambda i: "val" if i in val_ids else "train", tasks, progress=False
        )
    assert accepted == [Row(0, "a", GOOD)]
    assert sorted(rejects) == [
        (1, "b", "unparsable InChI (RDKit)"),  # never reaches the vocabulary
        (2, "c", "tokens not in the vocabulary: Cl"),  # a validation row adds no tokens
    ]
    assert vocabulary.unknown_tokens(GOOD) == []


def test_split_is_stable_and_follows_the_fractions():
    ids = [f"{i:012x}" for i in range(4000)]
    splits = [split_of(i, val_fraction=0.1, test_fraction=0.2) for i in ids]
    assert splits == [split_of(i, 0.1, 0.2) for i in ids]
    assert abs(splits.count("test") / 4000 - 0.2) < 0.03
    assert abs(splits.count("val") / 4000 - 0.1) < 0.03
    # Pinned: sha256 of the id, never Python's hash(), which changes with every process.
    assert (split_of("0000000000ab", 0.1, 0.2), split_of("0000000000ad", 0.1, 0.2)) == (
        "test",
        "train",
    )


def test_molecules_held_out_elsewhere_are_rejected_whatever_their_stereo():
    rows = [Row(0, "a", GOOD), Row(1, "b", L_ALANINE), Row(2, "c", CHLORIDE)]
    accepted, rejects = without_held_out(rows, {ALANINE, CHLORIDE})
    assert accepted == [Row(0, "a", GOOD)]
    assert rejects == [
        (1, "b", "molecule held out for validation elsewhere"),
        (2, "c", "molecule held out for validation elsewhere"),
    ]
    assert without_held_out(rows, set()) == (rows, [])


def test_a_directory_without_held_out_splits_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no val or test split"):
        held_out_molecules([tmp_path])
