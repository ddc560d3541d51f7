"""synth.py: BMS layout, determinism, resumption, annotations and drawing styles (the
molecules drawn: test_molecules.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from inchi_lightning.chemistry.inchi import inchi_from_smiles, is_valid_inchi
from inchi_lightning.cli import synth as synth_command
from inchi_lightning.files import temporary_path
from inchi_lightning.prep import annotations, drawing, render, synth
from tests.files import file_tree
from tests.synth_files import synth_labels, write_lines

N = 40
SEED = 3

# 30 distinct molecules, so that a dataset of N = 40 needs 10 BRICS crossovers too.
MOLECULES = [
    "CCOC(=O)c1ccccc1NC(C)=O", "COc1ccc(CN2CCCCC2)cc1", "O=C(Nc1ccccc1)c1ccncc1",
    "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "OC(=O)c1ccc(cc1)C(F)(F)F", "CN1CCC[C@H]1c1cccnc1", "c1ccc2[nH]ccc2c1", "Clc1ccc(Cl)cc1",
    "NS(=O)(=O)c1ccc(N)cc1", "CCN(CC)CCOC(=O)c1ccc(N)cc1", "O=C1NC(=O)c2ccccc21",
    "COc1cc(C=O)ccc1O", "CC(C)NCC(O)COc1cccc2ccccc12", "c1ccc(-c2ccccn2)nc1",
    "CCCCc1ccc(O)cc1", "O=C(O)CCc1ccccc1", "Brc1cccs1", "CC1=CC(=O)C=CC1=O",
    "N#Cc1ccc(OCC2CC2)cc1", "CSc1nc2ccccc2s1", "OCCN1CCOCC1", "CC(=O)Nc1ccc(O)cc1",
    "Fc1ccc(C(=O)N2CCNCC2)cc1", "COC(=O)[C@@H](N)Cc1ccccc1", "c1ccc2c(c1)oc1ccccc12",
    "CCOc1ccc(S(=O)(=O)Cl)cc1", "O=[N+]([O-])c1cccc(C(F)(F)F)c1", "CC(C)(C)c1ccc(O)cc1",
]  # fmt: skip


@pytest.fixture(scope="module")
def smiles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lines(tmp_path_factory.mktemp("molecules") / "molecules.smi", MOLECULES)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, smiles_file: Path) -> Path:
    """A dataset drawn in this process, uninterrupted: what every other run must reproduce."""
    out_dir = tmp_path_factory.mktemp("reference")
    report = synth.synthesise(out_dir, N, seed=SEED, smiles_file=smiles_file, num_workers=0)
    assert (report.rows, report.written, report.from_brics) == (N, N, N - len(MOLECULES))
    return out_dir


def test_layout_is_the_kaggle_bms_layout(reference: Path) -> None:
    header = (reference / synth.LABELS_NAME).read_text().splitlines()[0]
    assert header == "image_id,InChI"
    rows = synth_labels(reference)
    assert len(rows) == N
    pngs = sorted((reference / "train").rglob("*.png"))
    assert len(pngs) == N
    for row in rows:
        image_id = row["image_id"]
        assert re.fullmatch(r"[0-9a-f]{12}", image_id)
        path = reference / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.png"
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint8 and image.ndim == 2
        assert set(np.unique(image)) == {0, 255}
        assert drawing.MIN_CANVAS <= min(image.shape) and max(image.shape) <= drawing.MAX_CANVAS


def test_labels_are_distinct_valid_inchis_of_the_given_molecules(reference: Path) -> None:
    inchis = [row["InChI"] for row in synth_labels(reference)]
    assert len(set(inchis)) == N
    assert all(is_valid_inchi(inchi) for inchi in inchis)
    given = {inchi_from_smiles(smiles) for smiles in MOLECULES}
    assert given <= set(inchis)  # every molecule is used once, BRICS crossovers make up the rest


def test_same_seed_is_byte_identical_with_a_process_pool(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    report = synth.synthesise(
        tmp_path, N, seed=SEED, smiles_file=smiles_file, num_workers=2, progress=False
    )
    assert report.written == N
    assert file_tree(tmp_path) == file_tree(reference)


def test_another_seed_gives_another_dataset(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    synth.synthesise(tmp_path, N, seed=SEED + 1, smiles_file=smiles_file, num_workers=0)
    ids = {row["image_id"] for row in synth_labels(tmp_path)}
    assert ids.isdisjoint(row["image_id"] for row in synth_labels(reference))


def test_resume_keeps_finished_images_and_matches_an_uninterrupted_run(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "resumed"
    shutil.copytree(reference, out_dir)
    # What `kill -9` leaves: some images never written, one half-written, no CSV yet.
    pngs = sorted((out_dir / "train").rglob("*.png"))
    for png in pngs[::4]:
        png.unlink()
    stray = temporary_path(pngs[0])
    stray.write_bytes(b"\x89PNG half")
    (out_dir / synth.LABELS_NAME).unlink()

    report = synth.synthesise(out_dir, N, seed=SEED, smiles_file=smiles_file, num_workers=0)

    deleted = len(pngs[::4])
    assert (report.written, report.skipped_existing) == (deleted, N - deleted)
    assert report.stray_temporaries_removed == 1
    assert file_tree(out_dir) == file_tree(reference)


# --- annotations: the molecule as drawn ------------------------------------------------------


def _annotation_ids(out_dir: Path) -> list[str]:
    lines = (out_dir / annotations.ANNOTATIONS_NAME).read_text().splitlines()
    return [json.loads(line)["image_id"] for line in lines]


def test_annotations_lie_beside_the_labels_in_their_order(reference: Path) -> None:
    assert _annotation_ids(reference) == [row["image_id"] for row in synth_labels(reference)]
    assert not (reference / annotations.PARTS_DIR).exists()  # the parts are folded in
    graphs = annotations.read_annotations(reference)
    assert len(graphs) == N
    first = synth_labels(reference)[0]["image_id"]
    png = cv2.imread(str(synth.image_path(reference, first)), cv2.IMREAD_UNCHANGED)
    height, width = png.shape
    assert all(0 <= x < width and 0 <= y < height for x, y in graphs[first].points)


def test_render_image_gives_the_annotated_images_pixels() -> None:
    for index, fraction in ((0, 0.0), (1, 1.0)):
        drawn = render.render_annotated(MOLECULES[7], SEED, index, fraction)
        assert np.array_equal(drawn.image, render.render_image(MOLECULES[7], SEED, index, fraction))
        assert drawn.graph is not None


def test_a_run_killed_mid_chunk_resumes_its_annotations(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "killed"
    shutil.copytree(reference, out_dir)
    # What `kill -9` leaves: the parts of the finished chunks (one half-written), PNGs of the
    # chunk being drawn without their records, PNGs not drawn yet; no annotations, no CSV.
    lines = (out_dir / annotations.ANNOTATIONS_NAME).read_text().splitlines(keepends=True)
    ids = _annotation_ids(out_dir)
    annotations.write_part(out_dir, dict(zip(ids[:16], lines[:16], strict=True)))
    annotations.write_part(out_dir, dict(zip(ids[16:24], lines[16:24], strict=True)))
    torn = temporary_path(out_dir / annotations.PARTS_DIR / "0123456789abcdef.jsonl")
    torn.write_text(lines[24][:30])
    for image_id in ids[30:]:
        synth.image_path(out_dir, image_id).unlink()  # ids 24-29: drawn, not recorded
    (out_dir / annotations.ANNOTATIONS_NAME).unlink()
    (out_dir / synth.LABELS_NAME).unlink()

    report = synth.synthesise(out_dir, N, seed=SEED, smiles_file=smiles_file, num_workers=0)

    assert (report.written, report.skipped_existing) == (N - 24, 24)
    assert file_tree(out_dir) == file_tree(reference)


def test_a_folder_drawn_before_annotations_gets_them_with_the_same_pngs(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "older"
    shutil.copytree(reference, out_dir)
    (out_dir / annotations.ANNOTATIONS_NAME).unlink()
    report = synth.synthesise(out_dir, N, seed=SEED, smiles_file=smiles_file, num_workers=0)
    assert report.written == N  # drawn again for their annotations: the same bytes
    assert file_tree(out_dir) == file_tree(reference)


def test_a_folder_holding_other_molecules_is_refused(reference: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "other"
    shutil.copytree(reference, out_dir)
    others = write_lines(tmp_path / "others.smi", MOLECULES[::-1])  # another walk, same ids
    with pytest.raises(ValueError, match="already holds"):
        synth.synthesise(out_dir, N, seed=SEED, smiles_file=others, num_workers=0)


def test_image_ids_are_distinct_hex_and_depend_only_on_seed_and_index() -> None:
    ids = synth.image_ids(0, 1000)
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{12}", image_id) for image_id in ids)
    assert synth.image_ids(0, 10) == ids[:10]
    assert set(synth.image_ids(1, 10)).isdisjoint(ids)


# --- the command line -------------------------------------------------------------------------


def test_main_draws_from_rdkits_corpus(tmp_path: Path, capsys) -> None:
    status = synth_command.main(
        ["--out", str(tmp_path), "--n", "12", "--num-workers", "0", "--no-progress"]
    )
    assert status == 0
    assert len(synth_labels(tmp_path)) == 12
    assert "12 images" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--n", "5", "--smiles", "no/such/file.smi"], "SMILES file not found"),
        (["--n", "0"], "--n must be a positive"),
        (["--n", "5", "--seed", "-1"], "--seed must be"),
    ],
)
def test_main_reports_user_errors_in_one_line(
    tmp_path: Path, capsys, arguments: list[str], message: str
) -> None:
    assert synth_command.main(["--out", str(tmp_path / "out"), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_main_help_explains_the_options(capsys) -> None:
    assert synth_command.main(["--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--out", "--n", "--smiles", "--seed", "--num-workers"):
        assert option in out


# --- scan damage ------------------------------------------------------------------------------


# --- patent-style drawings --------------------------------------------------------------------


def test_style_kind_follows_the_fraction_and_nests() -> None:
    kinds = {
        fraction: [render.style_kind(SEED, index, fraction) for index in range(2000)]
        for fraction in (0.0, 0.3, 0.6, 1.0)
    }
    assert set(kinds[0.0]) == {"bms"} and set(kinds[1.0]) == {"patent"}
    assert abs(kinds[0.3].count("patent") / 2000 - 0.3) < 0.04
    # The patent images of a smaller fraction stay patent images in a larger one.
    nested = zip(kinds[0.3], kinds[0.6], strict=True)
    assert all(larger == "patent" for smaller, larger in nested if smaller == "patent")
    assert kinds[0.3] == [render.style_kind(SEED, index, 0.3) for index in range(2000)]


def test_patent_fraction_mixes_both_styles_deterministically(
    reference: Path, smiles_file: Path, tmp_path: Path
) -> None:
    n = 20
    runs = [tmp_path / "first", tmp_path / "again"]
    for out_dir in runs:
        synth.synthesise(
            out_dir, n, seed=SEED, smiles_file=smiles_file, num_workers=0, patent_fraction=0.5
        )
    mixed = file_tree(runs[0])
    assert mixed == file_tree(runs[1])
    kinds = [render.style_kind(SEED, index, 0.5) for index in range(n)]
    assert set(kinds) == {"bms", "patent"}
    # Same plan as the BMS-only reference; only the patent images are drawn differently.
    plain = file_tree(reference)
    drawn_styles = synth.image_styles(SEED, n, 0.5)
    for index, row in enumerate(synth_labels(runs[0])):
        assert drawn_styles[row["image_id"]] == kinds[index]
        path = str(synth.image_path(Path(), row["image_id"]))
        image = cv2.imdecode(np.frombuffer(mixed[path], np.uint8), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(image)) == {0, 255}
        assert (mixed[path] == plain[path]) == (kinds[index] == "bms")


def test_resume_refuses_another_patent_fraction(reference: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "bms-only"
    shutil.copytree(reference, out_dir)
    (out_dir / synth.SETTINGS_RECORD_NAME).unlink()  # a folder from before the setting existed
    molecules = write_lines(tmp_path / "molecules.smi", MOLECULES)
    with pytest.raises(ValueError, match="--patent-fraction 0, not 0.5"):
        synth.synthesise(out_dir, N, seed=SEED, smiles_file=molecules, patent_fraction=0.5)
    report = synth.synthesise(out_dir, N, seed=SEED, smiles_file=molecules, num_workers=0)
    assert report.skipped_existing == N


def test_main_checks_and_explains_the_patent_fraction(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "out")
    assert synth_command.main(["--out", out, "--n", "5", "--patent-fraction", "1.5"]) == 2
    assert capsys.readouterr().err.startswith("error: --patent-fraction must be between 0 and 1")
    assert synth_command.main(["--help"]) == 0
    assert "--patent-fraction" in capsys.readouterr().out


def test_a_patent_set_warns_when_the_patent_fonts_are_missing(
    smiles_file: Path, tmp_path: Path, monkeypatch, caplog
) -> None:
    from inchi_lightning.prep import styles

    monkeypatch.setattr(styles, "_SYSTEM_FONT_DIRS", (tmp_path / "no-fonts",))
    styles.font_path.cache_clear()
    try:
        assert styles.missing_fonts("bms") == []  # RDKit ships the scans' fonts
        assert "NimbusRoman-Regular.otf" in styles.missing_fonts("patent")
        with caplog.at_level("WARNING", logger=synth.logger.name):
            synth.synthesise(tmp_path / "bms", 2, seed=SEED, smiles_file=smiles_file, num_workers=0)
            assert "NimbusRoman" not in caplog.text  # no patent drawing, nothing to say
            synth.synthesise(
                tmp_path / "patent", 2, seed=SEED, smiles_file=smiles_file, num_workers=0,
                patent_fraction=1.0,
            )  # fmt: skip
        assert "NimbusRoman-Regular.otf" in caplog.text and "fonts-urw-base35" in caplog.text
    finally:
        styles.font_path.cache_clear()
