"""The command line end to end: fit → checkpoint → validate → predict → score, in process."""

import csv
import shutil
from pathlib import Path

import pytest

from inchi_lightning.cli import main

CONFIG = str(Path(__file__).parents[1] / "configs" / "quickstart.yaml")


def tiny_run_args(shards: Path, tmp_path: Path) -> list[str]:
    """Overrides that shrink the quickstart config to seconds."""
    return [
        "--config", CONFIG,
        "--data.shards", str(shards),
        "--data.quickstart", "null",
        "--data.batch_size", "8",
        "--data.num_workers", "0",
        "--model.encoder.name", "resnet18",
        "--model.decoder.hidden_dim", "64",
        "--model.decoder.embed_dim", "32",
        "--trainer.max_time", "null",
        "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", "3",
        "--trainer.limit_val_batches", "2",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--checkpoint.dirpath", str(tmp_path / "checkpoints"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tiny_shards, tmp_path_factory) -> Path:
    """A checkpoint directory from one tiny `fit` run through the command line."""
    tmp_path = tmp_path_factory.mktemp("cli")
    assert main(["fit", *tiny_run_args(tiny_shards, tmp_path)]) == 0
    return tmp_path


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ["synth", "preprocess", "fit", "validate", "test", "predict", "score"]:
        assert f"  {command} " in out


def test_unknown_command_is_an_error(capsys):
    assert main(["train"]) == 2
    assert "usage" in capsys.readouterr().err


def test_fit_writes_best_and_last_checkpoints_and_tensorboard_logs(trained):
    assert (trained / "checkpoints" / "best.ckpt").is_file()
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    assert list((trained / "logs").rglob("events.out.tfevents.*"))


def test_validate_prints_metrics(trained, tiny_shards, capsys):
    args = tiny_run_args(tiny_shards, trained)
    ckpt = str(trained / "checkpoints" / "best.ckpt")
    assert main(["validate", *args, "--ckpt_path", ckpt]) == 0
    assert "val/levenshtein" in capsys.readouterr().out


def test_checkpoint_alone_predicts_every_image_and_survives_bad_ones(
    trained, tiny_raw, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # no config: nothing may depend on the working directory
    images = tmp_path / "images"
    images.mkdir()
    sources = sorted((tiny_raw / "train").rglob("*.png"))[:3]
    for source in sources:
        shutil.copy(source, images / source.name)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (images / "notes.txt").write_text("not an image")
    output = tmp_path / "submission.csv"

    code = main([
        "predict",
        "--ckpt_path", str(trained / "checkpoints" / "best.ckpt"),
        "--data.predict_dir", str(images),
        "--data.num_workers", "0",
        "--trainer.logger", "false",
        "--submission.output", str(output),
    ])  # fmt: skip
    assert code == 0
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image_id"] for r in rows] == sorted(["broken"] + [s.stem for s in sources])
    by_id = {r["image_id"]: r["InChI"] for r in rows}
    assert by_id["broken"] == ""
    assert all(by_id[s.stem].startswith("InChI=1S/") for s in sources)
    assert "wrote 4 predictions" in capsys.readouterr().out


def test_score_compares_a_submission_with_labels(tmp_path, capsys):
    header = "image_id,InChI\na,InChI=1S/CH4/h1H4\n"
    (tmp_path / "labels.csv").write_text(header + "b,InChI=1S/H2O/h1H2\n")
    (tmp_path / "sub.csv").write_text(header + "b,InChI=1S/H2O/h1H\n")
    assert main(["score", "--submission", str(tmp_path / "sub.csv"),
                 "--labels", str(tmp_path / "labels.csv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "mean Levenshtein 0.50" in out and "exact match 50.0%" in out


def test_missing_shards_is_a_one_line_error(tmp_path, capsys):
    code = main(["fit", "--config", CONFIG, "--data.shards", str(tmp_path / "none"),
                 "--data.quickstart", "null"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no preprocessed shards") and "\n" not in err


def test_print_config_shows_the_model_and_data_sections(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", CONFIG, "--print_config"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "encoder:" in out and "quickstart:" in out and "checkpoint:" in out
