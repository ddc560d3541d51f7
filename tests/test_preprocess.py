"""The preprocessing job: every row a sample or an explained reject, on Ray, resumable.

Ray starts once for the module (``ray_session``); ``preprocess`` uses a Ray that is already
running, so each call below costs about a second.
"""

import csv
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from inchi_lightning.cli.preprocess import build_parser, clean_params_of, main
from inchi_lightning.files import temporary_path
from inchi_lightning.imaging import CleanParams
from inchi_lightning.prep.labels import InputError, Layout, split_of
from inchi_lightning.prep.preprocess import preprocess
from inchi_lightning.shards import ShardSet
from inchi_lightning.tokenizer import InChITokenizer
from tests.files import file_tree
from tests.ink import darkest_near

PARAMS = CleanParams(image_size=48)
SETTINGS = dict(clean_params=PARAMS, shard_size=25, val_fraction=0.2, progress=False)
CLI_SETTINGS = ["--image-size", "48", "--shard-size", "25", "--val-fraction", "0.2"]
ROOT = Path(__file__).parents[1]
GOOD = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"
UNPARSABLE = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz"
# An id of the validation split: a token that only it has is missing from the vocabulary.
XENON = next(f"xenon{i}" for i in range(100) if split_of(f"xenon{i}", 0.2, 0.0) == "val")
EXPECTED_REJECTS = {  # image_id -> reason, for the rows that `damaged_raw` spoils
    "truncated": "unreadable image",
    "zerobyte": "zero-byte file",
    "missing": "missing file",
    "white": "empty image",
    "badlabel": "unparsable InChI (RDKit)",
    "nolabel": "empty label",
    "noprefix": "not a standard InChI: no InChI=1S/ prefix",
    "twice": "duplicate image_id: first at row 203",
    "text": "unreadable image",
    "nonstandard": "not a standard InChI: no InChI=1S/ prefix",
    XENON: "tokens not in the vocabulary: Xe",
}
CONVERTED = ("gray16", "rgba", "jpeg")  # the drawing of `gray8` in other depths and formats


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray for the module, its session files under a short temporary path."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must be short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)
    yield
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


def bms_path(root: Path, image_id: str) -> Path:
    return Layout(root / "train_labels.csv", root / "train", nested=True).image_path(image_id)


def add_image(root: Path, image_id: str, image: np.ndarray | bytes) -> None:
    path = bms_path(root, image_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, bytes):
        path.write_bytes(image)
    else:
        cv2.imwrite(str(path), image)


def huge_page(path: Path, side: int = 10000) -> None:
    """A ``side`` x ``side`` 1-bit PNG with a cross: 100 M pixels, a few kilobytes on disk."""
    page = Image.new("1", (side, side), 1)
    draw = ImageDraw.Draw(page)
    draw.line((100, side // 2, side - 100, side // 2), fill=0, width=8)
    draw.line((side // 2, 100, side // 2, side - 100), fill=0, width=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.save(path)


def wide_drawing() -> np.ndarray:
    """40 x 2000 px: a long chain with a label, an extreme aspect ratio."""
    page = np.full((40, 2000), 255, np.uint8)
    cv2.line(page, (20, 25), (1900, 15), 0, 2)
    cv2.putText(page, "OH", (1920, 30), cv2.FONT_HERSHEY_PLAIN, 1.2, 0, 2)
    return page


@pytest.fixture(scope="module")
def damaged_raw(tmp_path_factory) -> Path:
    """200 synthetic drawings in the BMS layout plus one row of every kind to reject, and
    rows that must be accepted although unusual (other depths and formats, odd sizes)."""
    from inchi_lightning.prep.synth import synthesise

    root = tmp_path_factory.mktemp("raw")
    synthesise(root, n=200, seed=11, num_workers=2, progress=False)
    with (root / "train_labels.csv").open() as handle:
        first = next(csv.DictReader(handle))
    good_png = bms_path(root, first["image_id"]).read_bytes()
    add_image(root, "truncated", good_png[: len(good_png) // 3])
    add_image(root, "zerobyte", b"")
    add_image(root, "white", np.full((120, 200), 255, np.uint8))
    for image_id in ("badlabel", "nolabel", "noprefix", "twice", "nonstandard", XENON):
        add_image(root, image_id, good_png)
    add_image(root, "text", b"image_id,InChI\nthis is a text file named .png\n")
    gray = cv2.imdecode(np.frombuffer(good_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    rgba = np.zeros((*gray.shape, 4), np.uint8)  # black ink on transparent paper
    rgba[..., 3] = 255 - gray
    add_image(root, "gray8", gray)
    add_image(root, "gray16", gray.astype(np.uint16) * 257)
    add_image(root, "rgba", rgba)
    # The layout names every image .png; decoders go by the content.
    add_image(root, "jpeg", cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    add_image(root, "wide", wide_drawing())
    huge_page(bms_path(root, "huge"))
    rows = [
        ("truncated", GOOD),
        ("zerobyte", GOOD),
        ("missing", GOOD),  # row 202: no image file at all
        ("twice", GOOD),  # row 203: kept; its repeat below is not
        ("white", GOOD),
        ("badlabel", UNPARSABLE),
        ("nolabel", ""),
        ("noprefix", "C2H6O"),
        ("twice", GOOD),  # row 208
        ("text", GOOD),
        ("nonstandard", "InChI=1/C2H6O/c1-2-3/h3H,2H2,1H3"),  # no S: a non-standard InChI
        (XENON, "InChI=1S/Xe"),
        *[(image_id, GOOD) for image_id in ("gray8", *CONVERTED, "wide", "huge")],
    ]
    with (root / "train_labels.csv").open("a", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return root


@pytest.fixture(scope="module")
def processed(ray_session, damaged_raw, tmp_path_factory) -> tuple[Path, dict]:
    """``damaged_raw`` preprocessed in one uninterrupted run."""
    out = tmp_path_factory.mktemp("processed") / "shards"
    return out, preprocess(damaged_raw, out, **SETTINGS)


def read_reject_rows(out: Path) -> list[dict[str, str]]:
    with (out / "rejects.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_row_is_a_sample_or_an_explained_reject(processed):
    out, manifest = processed
    assert manifest["input_rows"] == 218
    assert manifest["accepted"] + manifest["rejected"] == 218
    rejects = read_reject_rows(out)
    reasons = {r["image_id"]: r["reason"] for r in rejects}
    # Validation labels with a token that no training label has cannot be learnt: rejected.
    unknown = {i for i, reason in reasons.items() if reason.startswith("tokens not in the vocab")}
    assert all(split_of(image_id, 0.2, 0.0) == "val" for image_id in unknown)
    assert {i: r for i, r in reasons.items() if i not in unknown - {XENON}} == EXPECTED_REJECTS
    assert manifest["rejected_by_reason"]["duplicate image_id"] == 1
    samples = [ShardSet(out / split) for split in ("train", "val", "test")]
    accepted = 200 + 1 + 1 + len(CONVERTED) + 2 - len(unknown - {XENON})  # synth, twice, ...
    assert sum(len(s) for s in samples) == manifest["accepted"] == accepted


def sample(out: Path, image_id: str) -> np.ndarray:
    """The cleaned image of ``image_id``, from whichever split holds it."""
    for split in ("train", "val", "test"):
        shards = ShardSet(out / split)
        if image_id in shards.image_ids:
            return shards[shards.image_ids.index(image_id)][0]
    raise KeyError(f"{image_id} is not a sample")


@pytest.mark.parametrize("image_id", sorted(set(EXPECTED_REJECTS) - {"twice"}))
def test_each_bad_row_is_one_reject_with_its_reason(processed, image_id):
    rows = [r for r in read_reject_rows(processed[0]) if r["image_id"] == image_id]
    assert [r["reason"] for r in rows] == [EXPECTED_REJECTS[image_id]]
    with pytest.raises(KeyError):
        sample(processed[0], image_id)


def test_a_duplicate_id_keeps_its_first_row(processed):
    rows = [r for r in read_reject_rows(processed[0]) if r["image_id"] == "twice"]
    assert [(r["row"], r["reason"]) for r in rows] == [("208", EXPECTED_REJECTS["twice"])]
    assert sample(processed[0], "twice").shape == (48, 48)  # row 203


@pytest.mark.parametrize("image_id", CONVERTED)
def test_16_bit_rgba_and_jpeg_become_the_sample_of_an_8_bit_gray_png(processed, image_id):
    expected = sample(processed[0], "gray8").astype(int)
    converted = sample(processed[0], image_id).astype(int)
    if image_id == "jpeg":  # lossy: close, not equal
        assert np.abs(converted - expected).mean() < 2  # another drawing: > 10
    else:
        assert np.array_equal(converted, expected)


@pytest.mark.parametrize("image_id", ["wide", "huge"])
def test_extreme_aspect_ratio_and_a_huge_page_are_accepted(processed, image_id):
    image = sample(processed[0], image_id)
    assert image.shape == (48, 48) and (image < 128).sum() > 20


def test_manifest_vocabulary_and_splits(processed):
    out, manifest = processed
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["clean"] == {**manifest["clean"], "image_size": 48}
    assert CleanParams(**manifest["clean"]) == PARAMS
    train, val = ShardSet(out / "train"), ShardSet(out / "val")
    assert manifest["splits"] == {"train": len(train), "val": len(val), "test": 0}
    assert all(split_of(i, 0.2, 0.0) == "val" for i in val.image_ids)
    assert all(split_of(i, 0.2, 0.0) == "train" for i in train.image_ids)
    vocabulary = InChITokenizer.load(out / "vocab.json")
    assert vocabulary.fingerprint == manifest["vocab_fingerprint"]
    for inchi in train.inchis + val.inchis:
        assert vocabulary.decode(vocabulary.encode(inchi)) == inchi
    image, _, _ = val[0]
    assert image.shape == (48, 48) and image.dtype == np.uint8
    assert manifest["shards"][0] == "train/shard-00000"


def test_ray_workers_did_the_work(processed):
    _, manifest = processed
    workers = manifest["run"]["workers"]
    assert workers and all(int(w.rsplit(":", 1)[1]) != os.getpid() for w in workers)
    assert (manifest["run"]["backend"], manifest["run"]["cpus"]) == ("ray", 2)


def shard_files(out: Path) -> dict[str, bytes]:
    """Every file's bytes, the manifest without its ``run`` record (times, workers)."""
    files = file_tree(out)
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("run")
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def test_resume_after_an_interruption_equals_an_uninterrupted_run(processed, tmp_path):
    out, _ = processed
    resumed = tmp_path / "shards"
    shutil.copytree(out, resumed)
    for name in ("manifest.json", "rejects.csv", "vocab.json"):
        (resumed / name).unlink()  # the run died before its end...
    shutil.rmtree(resumed / "train" / "shard-00002")  # ...before finishing this shard...
    stray = temporary_path(resumed / "train" / "shard-00003")  # ...while writing this one
    stray.mkdir()
    (stray / "images.npy").write_bytes(b"half")
    manifest = preprocess(processed[1]["input"], resumed, **SETTINGS)
    assert manifest["run"]["shards_written"] == 1
    assert shard_files(resumed) == shard_files(out)


def test_local_processes_write_the_same_shards_as_ray(processed, tmp_path):
    """``processes=True``, for a machine without Ray: the same bytes from worker processes."""
    out, manifest = processed
    local = preprocess(
        manifest["input"], tmp_path / "shards", processes=True, num_cpus=2, **SETTINGS
    )
    assert (local["run"]["backend"], local["run"]["cpus"]) == ("processes", 2)
    assert all(int(w.rsplit(":", 1)[1]) != os.getpid() for w in local["run"]["workers"])
    assert shard_files(tmp_path / "shards") == shard_files(out)


def test_resuming_with_other_settings_is_refused(processed, tmp_path):
    out, manifest = processed
    shutil.copytree(out, tmp_path / "shards")
    with pytest.raises(InputError, match="other rows or settings"):
        preprocess(manifest["input"], tmp_path / "shards", **{**SETTINGS, "shard_size": 30})


@pytest.fixture(scope="module")
def flat_raw(damaged_raw, processed, tmp_path_factory) -> Path:
    """A flat folder (labels.csv + images/): three training drawings with their labels, and
    one labelled xenon, a token that the training vocabulary lacks."""
    root = tmp_path_factory.mktemp("flat")
    (root / "images").mkdir()
    train = ShardSet(processed[0] / "train")
    rows = list(zip(train.image_ids[:4], train.inchis[:3] + ["InChI=1S/Xe"], strict=True))
    for image_id, _ in rows:
        shutil.copy(bms_path(damaged_raw, image_id), root / "images" / f"{image_id}.png")
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "InChI", "source"])  # other columns are ignored
        writer.writerows((image_id, inchi, "synth") for image_id, inchi in rows)
    return root


def test_a_flat_folder_with_the_training_vocabulary(processed, flat_raw, tmp_path):
    vocab = processed[0] / "vocab.json"
    settings = {**SETTINGS, "val_fraction": 0.0}
    manifest = preprocess(flat_raw, tmp_path / "test", vocab_path=vocab, **settings)
    assert manifest["layout"] == "flat"
    assert (manifest["accepted"], manifest["splits"]["train"]) == (3, 3)
    (reject,) = read_reject_rows(tmp_path / "test")
    assert reject == {
        "row": "3",
        "image_id": reject["image_id"],
        "reason": "tokens not in the vocabulary: Xe",
    }
    assert (tmp_path / "test" / "vocab.json").read_bytes() == vocab.read_bytes()
    assert manifest["vocab_fingerprint"] == processed[1]["vocab_fingerprint"]


def test_command_line_prints_a_summary(ray_session, flat_raw, tmp_path, capsys):
    out = tmp_path / "shards"
    assert main(["--input", str(flat_raw), "--output", str(out), *CLI_SETTINGS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4 rows: 4 accepted (")
    assert "images/s on 2 Ray CPUs" in lines[1]
    assert lines[2] == f"shards: {out}"


def test_molecules_of_another_sets_val_split_are_held_out(processed, damaged_raw, tmp_path):
    shards = processed[0]
    train, val = ShardSet(shards / "train"), ShardSet(shards / "val")
    root = tmp_path / "flat"
    (root / "images").mkdir(parents=True)
    rows = [(train.image_ids[0], train.inchis[0]), (val.image_ids[0], val.inchis[0])]
    for image_id, _ in rows:
        shutil.copy(bms_path(damaged_raw, image_id), root / "images" / f"{image_id}.png")
    with (root / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("image_id", "InChI"), *rows])
    out = tmp_path / "shards"
    args = ["--input", str(root), "--output", str(out), "--processes", "--held-out", str(shards)]
    assert main([*args, *CLI_SETTINGS, "--val-fraction", "0"]) == 0
    assert ShardSet(out / "train").image_ids == [train.image_ids[0]]
    assert read_reject_rows(out) == [
        {
            "row": "1",
            "image_id": val.image_ids[0],
            "reason": "molecule held out for validation elsewhere",
        }
    ]


def test_keep_portrait_keeps_drawings_upright():
    args = ["--input", "raw", "--output", "shards"]
    assert clean_params_of(build_parser().parse_args(args)).turn_portrait
    upright = clean_params_of(build_parser().parse_args([*args, "--keep-portrait"]))
    assert upright == CleanParams(image_size=256, turn_portrait=False)


def test_user_errors_are_one_line(tmp_path, capsys):
    args = ["--input", str(tmp_path), "--output", str(tmp_path / "out")]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path} has neither train_labels.csv (BMS layout) nor labels.csv "
        "(flat folder)\n"
    )
    (tmp_path / "labels.csv").write_text("id,label\n1,x\n")
    assert main(args) == 2
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'labels.csv'} has no InChI or image_id column\n"
    )
    assert main([*args[:2], "--image-size", "4", *args[2:]]) == 2
    assert capsys.readouterr().err.startswith("error: image_size (4) must exceed")
    assert main([*args, "--val-fraction", "0.7", "--test-fraction", "0.7"]) == 2
    assert "add up to at most 1" in capsys.readouterr().err


def test_a_labels_file_without_an_inchi_column_is_one_error_line(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("image_id,SMILES\na,CCO\n")
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'labels.csv'} has no InChI column\n"


@pytest.mark.slow
def test_kill_9_then_rerun_equals_an_uninterrupted_run(processed, tmp_path):
    """A real kill -9 of the whole job (driver and Ray) in the middle of writing shards."""
    out, manifest = processed
    killed = tmp_path / "shards"
    args = ["--input", manifest["input"], "--output", str(killed), *CLI_SETTINGS]
    command = [sys.executable, "-m", "inchi_lightning", "preprocess", *args, "--num-cpus", "1"]
    ray_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "RAY_TMPDIR": ray_dir},
        start_new_session=True,  # its own process group: kill Ray's processes too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(killed.glob("*/shard-?????")) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(ray_dir, ignore_errors=True)
    assert not (killed / "manifest.json").exists()  # it really died before the end...
    finished = sorted(str(p.relative_to(killed)) for p in killed.glob("*/shard-?????"))
    assert 0 < len(finished) < len(manifest["shards"])  # ...with some shards written, not all
    for shard in finished:  # a shard under its final name is complete: never half written
        assert shard_files_of(killed / shard) == shard_files_of(out / shard)
    assert len(ShardSet(killed / "train")) <= manifest["splits"]["train"]
    rerun = preprocess(manifest["input"], killed, **SETTINGS)
    # >=: a Ray worker outside the killed process group may finish its task as it goes down;
    # its shard is complete and byte for byte the one the re-run would write.
    assert rerun["run"]["shards_resumed"] >= len(finished)
    assert shard_files(killed) == shard_files(out)  # leftover temporary directories included


def shard_files_of(shard_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in shard_dir.iterdir()}


def test_a_rerun_of_a_finished_job_leaves_its_directory_untouched(processed, tmp_path):
    out, manifest = processed
    again = tmp_path / "shards"
    shutil.copytree(out, again)
    before = {p: p.stat().st_mtime_ns for p in again.rglob("*")}
    tree = file_tree(again)
    assert preprocess(manifest["input"], again, **SETTINGS) == manifest  # the first run's record
    assert file_tree(again) == tree
    assert {p: p.stat().st_mtime_ns for p in again.rglob("*")} == before


def test_an_image_id_that_is_a_path_is_a_reject_and_its_image_is_never_read(
    ray_session, damaged_raw, tmp_path
):
    """A flat labels.csv naming ``../../outside/secret`` must not read tmp/outside/secret.png."""
    with (damaged_raw / "train_labels.csv").open() as handle:
        rows = [(r["image_id"], r["InChI"]) for r in itertools.islice(csv.DictReader(handle), 3)]
    flat = tmp_path / "set"
    (flat / "images").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for image_id, _ in rows:
        shutil.copy(bms_path(damaged_raw, image_id), flat / "images" / f"{image_id}.png")
    shutil.copy(bms_path(damaged_raw, rows[0][0]), tmp_path / "outside" / "secret.png")
    with (flat / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("image_id", "InChI"), *rows, ("../../outside/secret", GOOD)])
    manifest = preprocess(flat, tmp_path / "shards", **SETTINGS)
    assert (manifest["input_rows"], manifest["accepted"]) == (4, 3)
    assert read_reject_rows(tmp_path / "shards") == [
        {
            "row": "3",
            "image_id": "../../outside/secret",
            "reason": "image_id is a path, not a file name",
        }
    ]


def test_annotations_follow_clean_into_the_shards_and_land_on_ink(processed, damaged_raw):
    """synth's atoms, moved by clean()'s crop, turn, scale and pad, sit on the shard's ink."""
    from inchi_lightning.prep.annotations import read_annotations

    out, _ = processed
    drawn = read_annotations(damaged_raw)
    checked = 0
    for split in ("train", "val", "test"):
        shards = ShardSet(out / split)
        for index, image_id in enumerate(shards.image_ids):
            graph = shards.graph(index)
            assert (graph is not None) == (image_id in drawn), image_id
            if graph is None:
                continue
            image = shards[index][0]
            for x, y, *_ in graph["atoms"]:
                # 230: at 48 px a drawing is shrunk ~6x, and a thin stroke turns light gray.
                assert darkest_near(image, x, y, 3) < 230, f"{image_id}: atom at ({x}, {y})"
                checked += 1
    assert checked > 1000
