"""reading/outputs.py: the submission CSV with the columns asked for, and the SDF."""

import csv

import pytest
from rdkit import Chem

from inchi_lightning.reading.outputs import ReadingWriter
from inchi_lightning.reading.readings import Reading

ETHANOL = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"
MOLFILE = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))


def readings() -> list[tuple[str, Reading]]:
    read = Reading(inchi=ETHANOL, smiles="CCO", molfile=MOLFILE, confidence=0.91234)
    return [("a", read), ("b", Reading.failed("zero-byte file"))]


def test_the_csv_has_kaggles_two_columns_then_those_asked_for(tmp_path):
    out = tmp_path / "sub" / "submission.csv"
    with ReadingWriter(out, ("confidence", "error", "smiles")) as writer:
        for image_id, reading in readings():
            writer.write(image_id, reading)
    rows = list(csv.reader(out.open()))
    assert rows == [
        ["image_id", "InChI", "confidence", "error", "smiles"],
        ["a", ETHANOL, "0.9123", "", "CCO"],
        ["b", "", "0.0000", "zero-byte file", ""],
    ]
    assert (writer.rows, writer.unread) == (2, 1)
    with ReadingWriter(tmp_path / "plain.csv") as writer:
        writer.write(*readings()[0])
    assert (tmp_path / "plain.csv").read_text().splitlines()[0] == "image_id,InChI"


def test_the_sdf_holds_each_molecule_read_with_its_fields(tmp_path):
    with ReadingWriter(tmp_path / "s.csv", sdf=tmp_path / "m.sdf") as writer:
        for image_id, reading in readings():
            writer.write(image_id, reading)
    (mol,) = list(Chem.SDMolSupplier(str(tmp_path / "m.sdf")))  # the unread image has none
    assert mol.GetProp("_Name") == "a" and mol.GetProp("image_id") == "a"
    assert mol.GetProp("InChI") == ETHANOL == Chem.MolToInchi(mol)
    assert mol.GetProp("SMILES") == "CCO" and mol.GetProp("confidence") == "0.9123"


def test_an_interrupted_run_leaves_no_file_under_the_final_names(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with ReadingWriter(tmp_path / "s.csv", sdf=tmp_path / "m.sdf") as writer:
            writer.write(*readings()[0])
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # no final file, no temporary left either


def test_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="unknown column 'inchikey': choose from confidence"):
        ReadingWriter("x.csv", ("inchikey",))
