import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inchi_lightning.imaging import CleanParams
from inchi_lightning.preprocess import main, preprocess, read_rows, split_of
from inchi_lightning.shards import ShardSet

PARAMS = CleanParams(image_size=48)
ROOT = Path(__file__).parents[1]


def bms_path(root: Path, image_id: str) -> Path:
    return root / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.png"


def append_rows(root: Path, rows: list[tuple[str, str]]) -> None:
    with (root / "train_labels.csv").open("a", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture(scope="module")
def damaged_raw(tiny_raw, tmp_path_factory) -> Path:
    """``tiny_raw`` plus one input of every kind that must be rejected."""
    root = tmp_path_factory.mktemp("damaged") / "raw"
    shutil.copytree(tiny_raw, root)
    rows = list(csv.DictReader((root / "train_labels.csv").open()))
    good_inchi = rows[0]["InChI"]
    truncated = bms_path(root, rows[1]["image_id"])
    truncated.write_bytes(truncated.read_bytes()[:100])
    bms_path(root, rows[2]["image_id"]).write_bytes(b"")
    for image_id in ["aaa000000001", "aaa000000002", "aaa000000003", "aaa000000004"]:
        bms_path(root, image_id).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(
            str(bms_path(root, image_id)), cv2.imread(str(bms_path(root, rows[0]["image_id"])))
        )
    white = bms_path(root, "bbb000000001")
    white.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(white), np.full((100, 200), 255, np.uint8))
    append_rows(root, [
        ("aaa000000001", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz"),  # RDKit cannot parse it
        ("aaa000000002", ""),
        ("aaa000000003", "C2H6O"),
        ("aaa000000004", good_inchi),
        ("aaa000000004", good_inchi),  # duplicate id
        ("ccc000000001", good_inchi),  # no image file
        ("bbb000000001", good_inchi),  # an all-white page
    ])  # fmt: skip
    return root


@pytest.fixture(scope="module")
def processed(damaged_raw, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("processed") / "shards"
    manifest = preprocess(
        damaged_raw, out, PARAMS, shard_size=25, val_fraction=0.2, num_cpus=2, progress=False
    )
    return out, manifest


def test_every_row_is_a_sample_or_an_explained_reject(damaged_raw, processed):
    out, manifest = processed
    rows = len(read_rows(damaged_raw))
    assert manifest["input_rows"] == rows
    assert manifest["accepted"] + manifest["rejected"] == rows
    with (out / "rejects.csv").open() as handle:
        rejects = {r["image_id"] + "/" + r["row"]: r["reason"] for r in csv.DictReader(handle)}
    reasons = " | ".join(rejects.values())
    assert len(rejects) == manifest["rejected"] == 8
    expected = [
        "unreadable image",
        "zero-byte file",
        "missing file",
        "empty image",
        "does not parse",
        "empty label",
        "not a standard InChI",
        "duplicate image_id",
    ]
    for reason in expected:
        assert reason in reasons
    on_disk = sum(len(ShardSet(out / split)) for split in ("train", "val", "test"))
    assert on_disk == manifest["accepted"] == sum(manifest["splits"].values())


def test_manifest_vocabulary_and_splits(processed):
    out, manifest = processed
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["clean"] == {**saved["clean"], "image_size": 48}
    assert saved["vocab_fingerprint"] == manifest["vocab_fingerprint"]
    assert json.loads((out / "vocab.json").read_text())["tokens"][:4] == [
        "<pad>", "<sos>", "<eos>", "<unk>",
    ]  # fmt: skip
    val = ShardSet(out / "val")
    assert len(val) > 0
    assert all(split_of(i, 0.2, 0.0) == "val" for i in val.image_ids)
    image, _, _ = val[0]
    assert image.shape == (48, 48) and image.dtype == np.uint8


def test_ray_tasks_did_the_work(processed):
    _, manifest = processed
    pids = manifest["run"]["worker_pids"]
    assert pids and os.getpid() not in pids


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_resume_after_interruption_equals_an_uninterrupted_run(processed, damaged_raw, tmp_path):
    out, _ = processed
    resumed = tmp_path / "shards"
    shutil.copytree(out, resumed)
    shutil.rmtree(resumed / "train" / "shard-00001")  # the run died before this shard...
    (resumed / "train" / "shard-00002.tmp-999-dead").mkdir()  # ...while writing this one
    for name in ("manifest.json", "vocab.json", "rejects.csv"):
        (resumed / name).unlink()
    shutil.rmtree(resumed / "train" / "shard-00002.tmp-999-dead")  # leftovers are ignored
    manifest = preprocess(
        damaged_raw, resumed, PARAMS, shard_size=25, val_fraction=0.2, num_cpus=2, progress=False
    )
    assert shard_bytes(resumed) == shard_bytes(out)
    assert len(manifest["run"]["worker_pids"]) >= 1  # only the missing shard was rebuilt


def test_kill_9_then_rerun_equals_an_uninterrupted_run(processed, damaged_raw, tmp_path):
    out, _ = processed
    killed = tmp_path / "shards"
    command = [sys.executable, "-m", "inchi_lightning", "preprocess", "--input", str(damaged_raw),
               "--output", str(killed), "--image-size", "48", "--shard-size", "25",
               "--val-fraction", "0.2", "--num-cpus", "2"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(killed.glob("*/shard-?????")) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert main(command[4:]) == 0
    assert shard_bytes(killed) == shard_bytes(out)


def test_flat_folder_layout_is_read(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels.csv").write_text("image_id,InChI\nm1,InChI=1S/CH4/h1H4\n")
    (row,) = read_rows(tmp_path)
    assert row.path == str(tmp_path / "images" / "m1.png") and row.inchi == "InChI=1S/CH4/h1H4"


def test_bad_layouts_are_one_line_errors(tmp_path, capsys):
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    assert "neither train_labels.csv" in capsys.readouterr().err
    (tmp_path / "labels.csv").write_text("id,label\n1,x\n")
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no InChI or image_id column" in err and err.count("\n") == 1
