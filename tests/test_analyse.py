"""bench/analyse.py: its four analyses of evaluate's per-sample CSVs, on CSVs written here."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from inchi_lightning.evaluation.scoring import write_samples

# The columns write_samples writes (test_the_csvs_here_are_the_ones_evaluate_writes).
HEADER = [
    "image_id", "truth", "raw", "chosen", "final", "chosen_rank",
    "levenshtein_raw", "levenshtein_chosen", "levenshtein_final",
    "raw_valid", "final_valid", "error", "confidence",
]  # fmt: skip

# synth --seed 190 --n 6 --patent-fraction 0.5 (the held-out yardstick's seed): each image id,
# in plan order, and the style it is drawn in. Pinned: a change to either moves every style split
# of the yardstick.
SYNTH = {"seed": 190, "n": 6, "patent_fraction": 0.5}
IDS = ["ade994f0d2b8", "af22f04f8e38", "2e39fdb795ce", "da5b9478ab30", "172bce23fef7",
       "327b59a83b9f"]  # fmt: skip
STYLES = ["patent", "patent", "bms", "patent", "bms", "bms"]
SYNTH_ARGS = ["--seed", "190", "--n", "6", "--patent-fraction", "0.5"]

ETHANOL = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"
L_ALANINE = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1"
D_ALANINE = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m1/s1"
RAW = "InChI=1S/C2H6/c1-2/h1-2H3"  # ethane


@pytest.fixture(scope="module")
def analyse():
    path = Path(__file__).parent.parent / "bench" / "analyse.py"
    spec = importlib.util.spec_from_file_location("analyse", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run(analyse, capsys):
    """``run(*argv)``: what ``bench/analyse.py argv`` prints, line by line."""

    def run(*argv) -> list[str]:
        analyse.main([str(arg) for arg in argv])
        return capsys.readouterr().out.splitlines()

    return run


def sample_csv(path: Path, rows: list[dict]) -> Path:
    """A CSV like evaluate's: ``rows`` give image_id, truth, final and whatever else matters.
    The raw and chosen readings differ from every truth: the analyses judge ``final``."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for row in rows:
            final = row.get("final", row["truth"])
            distance = row.get("levenshtein_final", 0)
            writer.writerow({
                "raw": RAW, "chosen": RAW, "chosen_rank": 0, "levenshtein_raw": distance,
                "levenshtein_chosen": distance, "levenshtein_final": distance, "raw_valid": 1,
                "final_valid": 1, "error": "", "confidence": "0.9", "final": final, **row,
            })  # fmt: skip
    return path


def test_the_csvs_here_are_the_ones_evaluate_writes(tmp_path):
    with write_samples([], tmp_path / "empty.csv").open() as handle:
        assert next(csv.reader(handle)) == HEADER


# ---- style --------------------------------------------------------------------------------------


def test_the_style_of_each_id_follows_from_the_synth_command(analyse):
    from inchi_lightning.prep.synth import image_styles

    assert image_styles(**SYNTH) == dict(zip(IDS, STYLES, strict=True))


def test_style_splits_exact_match_by_style_one_row_per_csv(tmp_path, run):
    right = {IDS[0], IDS[2], IDS[4]}  # one patent drawing of three, two BMS of three
    distances = [0, 3, 0, 5, 0, 1]
    first = sample_csv(tmp_path / "first.csv", [
        {"image_id": i, "truth": ETHANOL, "final": ETHANOL if i in right else "",
         "levenshtein_final": d}
        for i, d in zip(IDS, distances, strict=True)
    ])  # fmt: skip
    patent_only = sample_csv(
        tmp_path / "second.csv",
        [{"image_id": IDS[1], "truth": ETHANOL}, {"image_id": IDS[3], "truth": ETHANOL}],
    )
    assert run("style", first, patent_only, *SYNTH_ARGS) == [
        "| reading | all | BMS style | patent style | Levenshtein |",
        "| --- | ---: | ---: | ---: | ---: |",
        "| first.csv | 3 / 6 (50.00%) | 2 / 3 (66.67%) | 1 / 3 (33.33%) | 1.50 |",
        "| second.csv | 2 / 2 (100.00%) | - | 2 / 2 (100.00%) | 0.00 |",
    ]


def test_style_refuses_an_id_the_synth_run_did_not_draw(tmp_path, run):
    stranger = sample_csv(tmp_path / "other.csv", [{"image_id": "0123456789ab", "truth": ETHANOL}])
    with pytest.raises(SystemExit, match="1 ids not in this synth plan, e.g. 0123456789ab"):
        run("style", stranger, *SYNTH_ARGS)


# ---- label --------------------------------------------------------------------------------------


@pytest.fixture
def labelled_set(tmp_path) -> Path:
    """The six drawings' atom labels as synth annotates them; the fifth has no graph."""
    atoms = [["C", "C", "O"], ["C", "C4H9"], ["C", "O", "N"], ["C", "C4H9", "O"], None, ["C", "N"]]
    lines = []
    for image_id, labels in zip(IDS, atoms, strict=True):
        graph = labels and {"atoms": [[10.0, 20.0, label] for label in labels], "bonds": []}
        record = {"image_id": image_id, "graph": graph}
        lines.append(json.dumps(record if graph else {**record, "problem": "not recorded"}))
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "train_annotations.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "set"


@pytest.fixture
def two_readings(tmp_path) -> list[Path]:
    """The first reads drawings 0, 2 and 5 right; the second reads all right."""
    first = [{"image_id": i, "truth": ETHANOL, "final": ETHANOL if n in (0, 2, 5) else ""}
             for n, i in enumerate(IDS)]  # fmt: skip
    second = [{"image_id": i, "truth": ETHANOL} for i in IDS]
    return [sample_csv(tmp_path / "first.csv", first), sample_csv(tmp_path / "second.csv", second)]


def test_label_counts_right_readings_per_label_most_missed_first(labelled_set, two_readings, run):
    assert run("label", labelled_set, *two_readings) == [
        "| label | drawings | first.csv | second.csv |",
        "| --- | ---: | ---: | ---: |",
        "| C | 5 | 3 | 5 |",  # two missed, as C4H9: by name
        "| C4H9 | 2 | 0 | 2 |",
        "| O | 3 | 2 | 3 |",
        "| N | 2 | 2 | 2 |",
    ]
    assert run("label", labelled_set, *two_readings, "--top", "2")[2:] == [
        "| C | 5 | 3 | 5 |",
        "| C4H9 | 2 | 0 | 2 |",
    ]


def test_label_keeps_the_drawings_of_one_style(labelled_set, two_readings, run):
    assert run("label", labelled_set, *two_readings, "--style", "patent", *SYNTH_ARGS)[2:] == [
        "| C | 3 | 1 | 3 |",
        "| C4H9 | 2 | 0 | 2 |",
        "| O | 2 | 1 | 2 |",
    ]


def test_label_style_needs_the_synth_command(labelled_set, two_readings, run, capsys):
    with pytest.raises(SystemExit):
        run("label", labelled_set, *two_readings, "--style", "bms", "--seed", "190")
    assert "needs the synth command's --seed, --n and --patent-fraction" in capsys.readouterr().err


# ---- confidence ---------------------------------------------------------------------------------


def test_confidence_keeps_the_surest_readings_first_unreadable_last(tmp_path, run):
    rows = [  # confidence, right
        {"image_id": "d", "truth": ETHANOL, "final": "", "confidence": "nan", "error": "bad"},
        {"image_id": "c", "truth": ETHANOL, "confidence": "0.5"},
        {"image_id": "a", "truth": ETHANOL, "confidence": "0.9"},
        {"image_id": "b", "truth": ETHANOL, "final": "", "confidence": "0.8"},
    ]
    path = sample_csv(tmp_path / "read.csv", rows)
    assert run("confidence", path) == [
        f"{path} (4 images)",
        "",
        "| most confident | images | confidence at least | exact | exact match |",
        "| ---: | ---: | ---: | ---: | ---: |",
        "| 50% | 2 | 0.8 | 1 | 50.0% |",
        "| 75% | 3 | 0.5 | 2 | 66.7% |",
        "| 90% | 4 | nan | 2 | 50.0% |",
        "| 95% | 4 | nan | 2 | 50.0% |",
        "| 100% | 4 | nan | 2 | 50.0% |",
    ]


def test_confidence_prints_one_table_per_csv(tmp_path, run):
    right = sample_csv(tmp_path / "right.csv", [{"image_id": "a", "truth": ETHANOL}])
    wrong = sample_csv(tmp_path / "wrong.csv", [{"image_id": "a", "truth": ETHANOL, "final": ""}])
    lines = run("confidence", right, wrong)
    assert lines[0] == f"{right} (1 images)" and lines[10] == f"{wrong} (1 images)"
    assert lines[8:10] == ["| 100% | 1 | 0.9 | 1 | 100.0% |", ""]
    assert lines[-1] == "| 100% | 1 | 0.9 | 0 | 0.0% |"


def test_a_csv_without_the_columns_is_refused(tmp_path, run):
    path = tmp_path / "submission.csv"
    path.write_text(f"image_id,InChI\na,{ETHANOL}\n")
    with pytest.raises(SystemExit, match="has no truth column"):
        run("confidence", path)
    with pytest.raises(SystemExit, match="no file"):
        run("misses", tmp_path / "absent.csv")


# ---- misses -------------------------------------------------------------------------------------


def test_misses_sorts_each_reading_into_the_first_kind_that_fits(tmp_path, run):
    readings = [  # truth ethanol but for the stereo row
        (ETHANOL, ETHANOL),  # right
        (L_ALANINE, D_ALANINE),  # right but for stereo
        (ETHANOL, ""),  # no molecule
        (ETHANOL, "InChI=1S/C2H6O.H2O/c1-2-3;/h3H,2H2,1H3;1H2"),  # ethanol and water
        (ETHANOL, "InChI=1S/C2H6O/c1-3-2/h1-2H3"),  # dimethyl ether
        (ETHANOL, "InChI=1S/C2H6S/c1-2-3/h3H,2H2,1H3"),  # ethanethiol: O -> S
        (ETHANOL, "InChI=1S/C2H6S/c1-2-3/h3H,2H2,1H3"),
        (ETHANOL, "InChI=1S/C2H5Cl/c1-2-3/h2H2,1H3"),  # chloroethane: O -> Cl
        (ETHANOL, "InChI=1S/CH4O/c1-2/h2H,1H3"),  # methanol
        (ETHANOL, "InChI=1S/C3H8O/c1-2-3-4/h4H,2-3H2,1H3"),  # propanol
    ]
    rows = [{"image_id": str(n), "truth": truth, "raw": truth, "final": final}
            for n, (truth, final) in enumerate(readings)]  # fmt: skip
    path = sample_csv(tmp_path / "read.csv", rows)
    assert run("misses", path) == [
        f"{path}: 10 images, column 'final'",
        "",
        "| kind | images | share |",
        "| --- | ---: | ---: |",
        "| right | 1 | 10.0% |",
        "| right but for stereo | 1 | 10.0% |",
        "| no molecule | 1 | 10.0% |",
        "| right molecule, extra fragments | 1 | 10.0% |",
        "| right formula, other structure | 1 | 10.0% |",
        "| right atom count, other elements | 3 | 30.0% |",
        "| fewer heavy atoms | 1 | 10.0% |",
        "| more heavy atoms | 1 | 10.0% |",
        "",
        "element swaps where the atom count is right: O->S 2, O->Cl 1",
    ]
    assert run("misses", path, "--column", "raw")[4] == "| right | 10 | 100.0% |"


# ---- the command --------------------------------------------------------------------------------


def test_help_names_each_analysis_and_explains_it(run, capsys):
    with pytest.raises(SystemExit) as exit_:
        run("--help")
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("style", "label", "confidence", "misses"))
    for name, words in [("style", "BMS and patent styles apart"), ("label", "train_annotations"),
                        ("confidence", "most confident"), ("misses", "element swaps")]:  # fmt: skip
        with pytest.raises(SystemExit):
            run(name, "--help")
        assert words in capsys.readouterr().out.replace("\n", " ")
