"""molecules.py: the molecules a synthetic dataset draws (SMILES files, invalid lines,
duplicates, BRICS crossovers), through ``synthesise`` and directly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles
from inchi_lightning.prep import molecules, synth
from inchi_lightning.prep.corpus import default_smiles
from tests.synth_files import synth_labels, write_lines


def test_invalid_lines_are_counted_warned_about_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = ["CCO", "C1CC", "c1ccccc1", "", "# a comment", "not_smiles", "CC(=O)O"]
    path = write_lines(tmp_path / "mixed.smi", lines)
    with caplog.at_level(logging.WARNING, logger="inchi_lightning.prep.synth"):
        report = synth.synthesise(tmp_path / "out", 3, smiles_file=path, num_workers=0)
    assert (report.invalid_smiles, report.invalid_lines) == (2, (2, 6))
    assert "2 invalid SMILES" in caplog.text and "lines 2, 6" in caplog.text, caplog.text
    assert len(synth_labels(tmp_path / "out")) == 3


def test_duplicate_molecules_are_drawn_once(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "dups.smi", ["CCO ethanol", "OCC ethanol-again", "c1ccccc1"])
    report = synth.synthesise(tmp_path / "out", 2, smiles_file=path, num_workers=0)
    assert report.duplicate_molecules == 1
    assert sorted(row["InChI"] for row in synth_labels(tmp_path / "out")) == sorted(
        {inchi_from_smiles("CCO"), inchi_from_smiles("c1ccccc1")}
    )


def test_csv_with_a_smiles_column_is_read(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.csv", ["id,SMILES,name", "1,CCO,ethanol", "2,c1ccccc1,x"])
    assert molecules.read_smiles_file(path) == [(2, "CCO"), (3, "c1ccccc1")]
    headed = write_lines(tmp_path / "m.smi", ["smiles\tname", "CCO\tethanol"])
    assert molecules.read_smiles_file(headed) == [(2, "CCO")]


def test_labels_csv_is_read_as_its_molecules(tmp_path: Path) -> None:
    inchis = [inchi_from_smiles(smiles) for smiles in ("OC(=O)[C@@H](N)C", "c1ccncc1")]
    rows = ["image_id,InChI", f'a,"{inchis[0]}"', "b,InChI=1S/not-a-molecule", f"c,{inchis[1]}"]
    read = molecules.read_smiles_file(write_lines(tmp_path / "train_labels.csv", rows))
    assert [number for number, _ in read] == [2, 3, 4]
    assert inchi_from_smiles(read[0][1]) == inchis[0]  # stereo survives
    assert mol_from_smiles(read[1][1]) is None  # counted invalid by the walk
    assert inchi_from_smiles(read[2][1]) == inchis[1]


def test_unreachable_n_raises_a_clear_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "tiny.smi", ["C", "O"])  # nothing for BRICS to cut
    with pytest.raises(ValueError, match="only 2 distinct molecules"):
        synth.synthesise(tmp_path / "out", 5, smiles_file=path, num_workers=0)


def test_distinct_by_inchi_keeps_each_molecule_once_and_draws_no_candidate_beyond() -> None:
    drawn: list[str | None] = []

    def candidates():
        for smiles in ("CCO", None, "C1CC", "OCC", "c1ccccc1", "CC(=O)O", "CCN"):
            drawn.append(smiles)
            yield smiles

    first = molecules.distinct_by_inchi(candidates())
    assert [next(first), next(first)] == ["CCO", "c1ccccc1"]  # OCC is ethanol again
    assert drawn == ["CCO", None, "C1CC", "OCC", "c1ccccc1"]  # lazily: nothing past benzene
    assert list(first) == ["CC(=O)O", "CCN"]


def test_small_corpus_keeps_the_corpus_molecules_of_at_most_so_many_heavy_atoms() -> None:
    corpus = default_smiles()
    assert molecules.small_corpus(None) == corpus
    small = molecules.small_corpus(8)
    kept = [smiles for smiles in corpus if mol_from_smiles(smiles).GetNumHeavyAtoms() <= 8]
    assert small == kept and 0 < len(small) < len(corpus)
