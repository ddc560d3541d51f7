"""labels_file.py: the one reader and writer of image_id,InChI files."""

import pytest

from inchi_lightning.labels_file import (
    LabelsFileError,
    Row,
    image_id_problem,
    read_labels,
    read_pairs,
    write_pairs,
)

GOOD = "InChI=1S/CH4/h1H4"


def test_a_byte_order_mark_and_quoted_fields_are_read_as_excel_writes_them(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(f'\ufeff"image_id","InChI"\n"a","{GOOD}"\nb,"x,y"\n', encoding="utf-8")
    assert read_labels(path) == ([Row(0, "a", GOOD), Row(1, "b", "x,y")], [])
    assert read_pairs(path) == {"a": GOOD, "b": "x,y"}


@pytest.mark.parametrize(
    "header, missing", [("image_id\n", "InChI"), ("id,smiles\n", "InChI or image_id")]
)
def test_missing_columns_are_named(tmp_path, header, missing):
    path = tmp_path / "labels.csv"
    path.write_text(header)
    with pytest.raises(LabelsFileError, match=f"has no {missing} column"):
        read_labels(path)


def test_a_missing_file_is_a_labels_error(tmp_path):
    with pytest.raises(LabelsFileError, match="no labels file"):
        read_labels(tmp_path / "nothing.csv")


@pytest.mark.parametrize(
    "image_id", ["../../outside/secret", "a/b", "..", ".", "c:\\windows\\x", "/etc/passwd"]
)
def test_an_id_that_is_a_path_is_a_reject_with_its_reason(tmp_path, image_id):
    path = tmp_path / "labels.csv"
    write_pairs(path, [("ok", GOOD), (image_id, GOOD), ("", GOOD)])
    rows, rejects = read_labels(path)
    assert rows == [Row(0, "ok", GOOD)]
    assert rejects == [
        (1, image_id, "image_id is a path, not a file name"),
        (2, "", "empty image_id"),
    ]


def test_plain_ids_name_files():
    assert image_id_problem("000011a64c74") is None and image_id_problem("US07314-0001") is None


def test_written_pairs_read_back(tmp_path):
    path = write_pairs(tmp_path / "train_labels.csv", [("a", GOOD), ("b", 'q"uote')])
    assert path.read_text().splitlines()[0] == "image_id,InChI"
    assert read_pairs(path) == {"a": GOOD, "b": 'q"uote'}
