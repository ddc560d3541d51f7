"""scripts/missed_molecules.py: the misread molecules of evaluate CSVs, as synth draws them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inchi_lightning.chemistry.inchi import inchi_from_smiles
from inchi_lightning.prep.molecules import read_smiles_file

BENZENE, PHENOL, ETHANOL = "c1ccccc1", "Oc1ccccc1", "CCO"


def readings(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """An evaluate per-sample CSV of (image_id, truth SMILES, final SMILES) rows, as InChIs."""
    frame = pd.DataFrame(
        [
            {
                "image_id": image_id,
                "truth": inchi_from_smiles(truth),
                "final": inchi_from_smiles(final) if final else "",
                "confidence": 0.5,
            }
            for image_id, truth, final in rows
        ]
    )
    frame.to_csv(path, index=False)
    return path


def test_each_missed_molecule_is_written_once_and_synth_reads_it_back(
    tmp_path: Path, load_script
) -> None:
    script = load_script("missed_molecules")
    first = readings(tmp_path / "a.csv", [("a1", BENZENE, BENZENE), ("a2", PHENOL, BENZENE)])
    second = readings(tmp_path / "b.csv", [("b1", PHENOL, ""), ("b2", ETHANOL, "C")])
    out = tmp_path / "misses.csv"
    assert script.main([str(first), str(second), "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["image_id", "InChI"]
    assert list(written["image_id"]) == ["a2", "b2"]  # phenol once, benzene read right
    drawn = [inchi_from_smiles(smiles) for _, smiles in read_smiles_file(out)]
    assert drawn == [inchi_from_smiles(PHENOL), inchi_from_smiles(ETHANOL)]


def test_a_csv_that_is_not_evaluates_is_a_one_line_error(
    tmp_path: Path, load_script, capsys
) -> None:
    script = load_script("missed_molecules")
    labels = tmp_path / "train_labels.csv"
    pd.DataFrame({"image_id": ["x"], "InChI": [inchi_from_smiles(BENZENE)]}).to_csv(labels)
    out = tmp_path / "misses.csv"
    assert script.main([str(labels), "--out", str(out)]) == 2
    assert "not an evaluate per-sample CSV" in capsys.readouterr().err
    assert not out.exists()
