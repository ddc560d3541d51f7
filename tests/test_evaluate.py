"""`evaluate`: a checkpoint on a labelled image set, scored before and after post-processing."""

import csv
import json
import math
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from rapidfuzz.distance import Levenshtein

from inchi_lightning.cli import main
from inchi_lightning.evaluation.labelled_set import predict_labelled
from inchi_lightning.evaluation.scoring import STEPS, score_steps
from inchi_lightning.network.captioner import DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.reading import caption_reader
from inchi_lightning.shards import ShardSet, read_shard_spec
from inchi_lightning.training.captioner_module import CaptionerModule
from inchi_lightning.training.data import InChIDataModule


@pytest.fixture(scope="module")
def tiny_ckpt(tiny_shards, tmp_path_factory) -> Path:
    """A checkpoint after one training step: cheap, and its predictions are far off."""
    tokenizer, clean_params = read_shard_spec(tiny_shards)
    model = CaptionerModule(
        vocabulary=tokenizer.tokens,
        max_length=tokenizer.max_length,
        clean_params=clean_params,
        encoder=EncoderConfig(name="resnet18", weights="none"),
        decoder=DecoderConfig(embed_dim=32, hidden_dim=64, dropout=0.0),
    )
    trainer = L.Trainer(
        accelerator="cpu", max_steps=1, limit_val_batches=0, num_sanity_val_steps=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, datamodule=InChIDataModule(str(tiny_shards), batch_size=4, num_workers=0))
    path = tmp_path_factory.mktemp("evaluate") / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def table_row(out: str, step: str) -> list[float]:
    """The numbers of one step's row in the printed table (percentages as fractions)."""
    (line,) = [line for line in out.splitlines() if line.startswith(STEPS[step])]
    cells = line[len(STEPS[step]) :].split()
    return [float(c.rstrip("%")) / 100 if c.endswith("%") else float(c) for c in cells]


def evaluate_args(ckpt: Path, images: Path, out: Path, *extra: str) -> list[str]:
    return [
        "evaluate", "--ckpt_path", str(ckpt), "--images", str(images), "--out", str(out),
        "--num-threads", "1", "--batch-size", "16", *extra,
    ]  # fmt: skip


def test_evaluate_writes_per_sample_csv_that_agrees_with_the_table(
    tiny_ckpt, tiny_raw, tmp_path, capsys
):
    out = tmp_path / "per_sample.csv"
    args = evaluate_args(tiny_ckpt, tiny_raw, out, "--limit", "12", "--beam-width", "2")
    assert main(args) == 0
    printed = capsys.readouterr().out

    rows = read_labels(out)
    labels = read_labels(tiny_raw / "train_labels.csv")[:12]
    assert [r["image_id"] for r in rows] == [label["image_id"] for label in labels]
    assert [r["truth"] for r in rows] == [label["InChI"] for label in labels]
    for step in STEPS:
        distances = [Levenshtein.distance(r[step], r["truth"]) for r in rows]
        assert [int(r[f"levenshtein_{step}"]) for r in rows] == distances
        mean, exact, _ = table_row(printed, step)
        assert mean == pytest.approx(sum(distances) / len(rows), abs=0.005)
        assert exact == pytest.approx(sum(r[step] == r["truth"] for r in rows) / len(rows))
    assert table_row(printed, "raw")[0] > 5  # one training step: far off


def test_each_step_is_scored_on_its_own_predictions(tiny_ckpt, tiny_raw, monkeypatch):
    """A model whose best candidate never parses and whose second is valid but unnormalised."""
    beams = ["InChI=1S/C9/bad", "InChI=1S/CH4O/c2-1/h2H,1H3"]

    def decode(net, tokenizer, images, beam_width, length_penalty):
        return [beams] * len(images), torch.tensor([[-0.1, -0.7]]).repeat(len(images), 1)

    monkeypatch.setattr(caption_reader, "decode_captions", decode)
    samples = predict_labelled(tiny_ckpt, tiny_raw, limit=4, progress=False, num_threads=1)
    finals = {s.prediction.final for s in samples}
    assert {s.prediction.chosen for s in samples} == {beams[1]}
    # The confidence is the chosen candidate's, not the unreadable best one's: its mean token
    # probability.
    assert [s.confidence for s in samples] == pytest.approx([math.exp(-0.7)] * len(samples))
    assert finals == {"InChI=1S/CH4O/c1-2/h2H,1H3"}
    raw, chosen, final = score_steps(samples, list(STEPS))
    assert (raw.valid, chosen.valid, final.valid) == (0.0, 1.0, 1.0)
    for step, score in zip(STEPS, (raw, chosen, final), strict=True):
        direct = [Levenshtein.distance(s.predicted(step), s.truth) for s in samples]
        assert score.levenshtein == pytest.approx(sum(direct) / len(samples))


def test_flat_folder_without_rdkit_reports_the_raw_row_and_unreadable_images(
    tiny_ckpt, tiny_raw, tmp_path, capsys
):
    flat = tmp_path / "flat"
    (flat / "images").mkdir(parents=True)
    labels = read_labels(tiny_raw / "train_labels.csv")[:5]
    for label in labels:
        image_id = label["image_id"]
        source = tiny_raw / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.png"
        shutil.copy(source, flat / "images" / f"{image_id}.png")
    (flat / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    lines = [f'{label["image_id"]},"{label["InChI"]}"' for label in labels]
    lines += ["broken,InChI=1S/H2O/h1H2", "absent,InChI=1S/CH4/h1H4"]
    (flat / "labels.csv").write_text("image_id,InChI\n" + "\n".join(lines) + "\n")
    out = tmp_path / "per_sample.csv"

    assert main(evaluate_args(tiny_ckpt, flat, out, "--no-rdkit")) == 0
    captured = capsys.readouterr()
    assert STEPS["raw"] in captured.out
    assert STEPS["chosen"] not in captured.out and STEPS["final"] not in captured.out
    rows = {r["image_id"]: r for r in read_labels(out)}
    assert len(rows) == 7
    assert all(r["final"] == r["raw"] for r in rows.values())
    for image_id, truth in [("broken", "InChI=1S/H2O/h1H2"), ("absent", "InChI=1S/CH4/h1H4")]:
        assert rows[image_id]["raw"] == "" and rows[image_id]["error"]
        assert math.isnan(float(rows[image_id]["confidence"]))
        assert int(rows[image_id]["levenshtein_raw"]) == len(truth)
    # The captioner's confidence: a mean token probability.
    assert all(0 <= float(rows[label["image_id"]]["confidence"]) <= 1 for label in labels)
    warning = captured.err.splitlines()[-1]
    assert warning.startswith("warning: 2 unreadable") and "broken" in warning
    direct = [Levenshtein.distance(r["raw"], r["truth"]) for r in rows.values()]
    assert table_row(captured.out, "raw")[0] == pytest.approx(sum(direct) / 7, abs=0.005)


@pytest.mark.parametrize("problem", ["no dir", "no labels", "no ckpt", "corrupt ckpt"])
def test_bad_input_is_a_one_line_error(problem, tiny_raw, tmp_path, capsys):
    images, ckpt = tiny_raw, tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not a checkpoint")
    if problem == "no dir":
        images = tmp_path / "missing"
    elif problem == "no labels":
        images = tmp_path
    elif problem == "no ckpt":
        ckpt = tmp_path / "missing.ckpt"
    assert main(evaluate_args(ckpt, images, tmp_path / "out.csv", "--limit", "2")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not (tmp_path / "out.csv").exists()


def test_a_shard_split_scores_as_validate_does(tiny_ckpt, tiny_shards, tmp_path, capsys):
    """``--images SHARDS/val``: the cleaned validation images, greedy and raw, give exactly
    the mean Levenshtein distance that ``validate`` logs for them."""
    out = tmp_path / "per_sample.csv"
    args = evaluate_args(tiny_ckpt, tiny_shards / "val", out, "--beam-width", "1", "--no-rdkit")
    assert main(args) == 0
    rows = read_labels(out)
    assert [r["image_id"] for r in rows] == ShardSet(tiny_shards / "val").image_ids
    model = CaptionerModule.load_from_checkpoint(tiny_ckpt, weights_only=True)
    model.hparams.beam_width = 1
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    datamodule = InChIDataModule(str(tiny_shards), batch_size=16, num_workers=0)
    (logged,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    printed = table_row(capsys.readouterr().out, "raw")[0]
    assert printed == pytest.approx(logged["val/levenshtein"], abs=0.005)


def test_a_shard_split_cleaned_otherwise_is_refused(tiny_ckpt, tiny_shards, tmp_path, capsys):
    shards = tmp_path / "shards"
    shutil.copytree(tiny_shards, shards)
    manifest = json.loads((shards / "manifest.json").read_text())
    manifest["clean"]["image_size"] += 32
    (shards / "manifest.json").write_text(json.dumps(manifest))
    assert main(evaluate_args(tiny_ckpt, shards / "val", tmp_path / "out.csv")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "cleaned with" in err and "\n" not in err
