"""The command line end to end: fit → checkpoint → validate → predict → score, in process."""

import csv
import functools
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from inchi_lightning.cli import main

from .conftest import TINY_IMAGE_SIZE

CONFIG = str(Path(__file__).parents[1] / "configs" / "quickstart.yaml")
GRAPH_CONFIG = str(Path(__file__).parents[1] / "configs" / "graph-cpu.yaml")
GRAPH_READER = "inchi_lightning.training.graph_module.GraphModule"


def tiny_common_args(config: str, shards: Path, tmp_path: Path) -> list[str]:
    """The overrides every tiny run shares: its shards, no quickstart, logs and checkpoints in
    ``tmp_path``, seconds of work."""
    return [
        "--config", config,
        "--data.shards", str(shards),
        "--data.quickstart", "null",
        "--data.batch_size", "8",
        "--data.num_workers", "0",
        "--trainer.max_time", "null",
        "--trainer.limit_val_batches", "2",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--checkpoint.dirpath", str(tmp_path / "checkpoints"),
    ]  # fmt: skip


def tiny_run_args(shards: Path, tmp_path: Path) -> list[str]:
    """Overrides that shrink the quickstart config to seconds."""
    return [
        *tiny_common_args(CONFIG, shards, tmp_path),
        "--model.encoder.name", "resnet18",
        "--model.decoder.hidden_dim", "64",
        "--model.decoder.embed_dim", "32",
        "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", "3",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tiny_shards, tmp_path_factory) -> Path:
    """A checkpoint directory from one tiny `fit` run through the command line."""
    tmp_path = tmp_path_factory.mktemp("cli")
    assert main(["fit", *tiny_run_args(tiny_shards, tmp_path)]) == 0
    return tmp_path


def tiny_graph_args(shards: Path, tmp_path: Path) -> list[str]:
    """Overrides that shrink the graph recogniser's CPU recipe to seconds."""
    return [
        *tiny_common_args(GRAPH_CONFIG, shards, tmp_path),
        "--model.head_channels", "16",
        "--model.num_logged_samples", "3",
        "--trainer.max_steps", "4",
        "--trainer.val_check_interval", "2",
        "--trainer.log_every_n_steps", "1",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def graph_trained(tiny_shards, tmp_path_factory) -> Path:
    """A checkpoint directory from one tiny `fit` of the graph recogniser's config."""
    tmp_path = tmp_path_factory.mktemp("cli-graph")
    assert main(["fit", *tiny_graph_args(tiny_shards, tmp_path)]) == 0
    return tmp_path


def test_fit_runs_without_a_logger(tiny_shards, tmp_path):
    # The learning-rate monitor has nothing to log to, and must not stop the run.
    args = [*tiny_run_args(tiny_shards, tmp_path), "--trainer.logger", "false"]
    assert main(["fit", *args, "--trainer.limit_train_batches", "1"]) == 0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = ["synth", "preprocess", "fit", "validate", "test", "predict", "score", "evaluate"]
    for command in commands:
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


def folder_with_a_broken_image(raw: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """``tmp_path/images``: three of ``raw``'s drawings and a truncated ``broken.png``."""
    images = tmp_path / "images"
    images.mkdir()
    sources = sorted((raw / "train").rglob("*.png"))[:3]
    for source in sources:
        shutil.copy(source, images / source.name)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return images, sources


def test_checkpoint_alone_predicts_every_image_and_survives_bad_ones(
    trained, tiny_raw, tmp_path, monkeypatch, capsys, caplog
):
    monkeypatch.chdir(tmp_path)  # no config: nothing may depend on the working directory
    images, sources = folder_with_a_broken_image(tiny_raw, tmp_path)
    (images / "notes.txt").write_text("not an image")
    output = tmp_path / "submission.csv"

    ckpt = str(trained / "checkpoints" / "best.ckpt")
    code = main([
        "predict",
        "--ckpt_path", ckpt,
        "--data.predict_dir", str(images),
        "--submission.output", str(output),
        "--columns", "confidence,error",
    ])  # fmt: skip
    assert code == 0
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image_id"] for r in rows] == sorted(["broken"] + [s.stem for s in sources])
    by_id = {r["image_id"]: r for r in rows}
    assert by_id["broken"]["InChI"] == "" and by_id["broken"]["error"] == "unreadable image"
    assert all(by_id[s.stem]["InChI"].startswith("InChI=1S/") for s in sources)
    assert all(0 < float(by_id[s.stem]["confidence"]) <= 1 for s in sources)
    assert "wrote 4 predictions" in capsys.readouterr().out
    messages = [r.getMessage() for r in caplog.records]
    skipped = [m for m in messages if "not an image" in m]
    assert len(skipped) == 1 and "notes.txt" in skipped[0]
    assert any("broken.png: unreadable image" in m for m in messages)
    # The Python API reads the same files to the same InChIs.
    from inchi_lightning import Reader

    readings = Reader(ckpt).read(sources)
    assert [r.inchi for r in readings] == [by_id[s.stem]["InChI"] for s in sources]


def test_score_compares_a_submission_with_labels(tmp_path, capsys):
    header = "image_id,InChI\na,InChI=1S/CH4/h1H4\n"
    (tmp_path / "labels.csv").write_text(header + "b,InChI=1S/H2O/h1H2\n")
    (tmp_path / "sub.csv").write_text(header + "b,InChI=1S/H2O/h1H\n")
    assert main(["score", "--submission", str(tmp_path / "sub.csv"),
                 "--labels", str(tmp_path / "labels.csv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "mean Levenshtein 0.50" in out and "exact match 50.0%" in out


def test_score_reads_labels_with_a_byte_order_mark_and_refuses_in_one_line(tmp_path, capsys):
    labels, submission = tmp_path / "labels.csv", tmp_path / "sub.csv"
    labels.write_text("\ufeffimage_id,InChI\na,InChI=1S/CH4/h1H4\n", encoding="utf-8")
    submission.write_text("image_id,InChI\na,InChI=1S/CH4/h1H4\n")
    assert main(["score", "--submission", str(submission), "--labels", str(labels)]) == 0
    assert "exact match 100.0%" in capsys.readouterr().out
    submission.write_text("image_id,smiles\na,C\n")
    assert main(["score", "--submission", str(submission), "--labels", str(labels)]) == 2
    assert one_line_error(capsys) == f"error: {submission} has no InChI column"


def one_line_error(capsys) -> str:
    """The command's one ``error:`` line, its last on stderr, with no traceback.

    (Log records and warnings may come before it: pytest and Lightning print those.)
    """
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("shards", ["none", "empty"])
def test_missing_or_empty_shards_is_a_one_line_error(shards, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["fit", "--config", CONFIG, "--data.shards", str(tmp_path / shards),
                 "--data.quickstart", "null"])  # fmt: skip
    assert code == 2
    assert one_line_error(capsys).startswith("error: no preprocessed shards")


def test_shards_with_another_vocabulary_are_refused(trained, tiny_shards, tmp_path, capsys):
    other = tmp_path / "shards"
    shutil.copytree(tiny_shards, other)
    vocab = json.loads((other / "vocab.json").read_text())
    vocab["tokens"].append("Xx")
    (other / "vocab.json").write_text(json.dumps(vocab))
    args = tiny_run_args(other, trained)
    code = main(["validate", *args, "--ckpt_path", str(trained / "checkpoints" / "best.ckpt")])
    assert code == 2
    assert "does not match the model's" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("option", "yaml"),
    [(["--trainer.max_epoch", "1"], None), ([], "modle:\n  lr: 0.1\n")],
    ids=["option", "yaml-key"],
)
def test_a_misspelt_key_is_named_and_never_matched_to_another(option, yaml, tmp_path, capsys):
    if yaml:
        (tmp_path / "typo.yaml").write_text(yaml)
        option = ["--config", str(tmp_path / "typo.yaml")]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", CONFIG, *option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    # jsonargparse's own usage + error; no prefix matching of max_epoch to max_epochs
    assert ("max_epoch" if not yaml else "modle") in err and "Traceback" not in err


class RunsCode:
    """Unpickling this creates a file: what loading an untrusted pickle could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def write_bad_checkpoint(kind: str, path: Path, good: Path) -> None:
    if kind == "random bytes":
        path.write_bytes(os.urandom(4096))
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "state dict":
        torch.save({"weight": torch.zeros(2)}, path)
    elif kind == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": {"lr": 1}}, path)
    elif kind == "another project's model":
        hparams = {"_class_path": "their_project.Model", "vocabulary": ["C"]}
        torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": hparams}, path)
    elif kind == "captioner without vocabulary":
        hparams = {
            "_class_path": "inchi_lightning.training.captioner_module.CaptionerModule",
            "lr": 1,
        }
        torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": hparams}, path)
    elif kind == "pickled object":
        payload = torch.load(good, weights_only=True)
        payload["extra"] = RunsCode(path.with_name("ran"))
        torch.save(payload, path)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("random bytes", "corrupted"),
        ("truncated", "corrupted"),
        ("state dict", "no Lightning model weights"),
        ("foreign", "name no inchi_lightning model"),
        ("another project's model", "name no inchi_lightning model"),
        ("captioner without vocabulary", "no InChI vocabulary"),
        ("pickled object", "pickled objects"),
    ],
)
def test_a_bad_checkpoint_is_refused_in_one_line(kind, message, trained, tmp_path, capsys):
    ckpt = tmp_path / "model.ckpt"
    write_bad_checkpoint(kind, ckpt, trained / "checkpoints" / "best.ckpt")
    code = main(["predict", "--ckpt_path", str(ckpt), "--data.predict_dir", str(tmp_path)])
    assert code == 2
    err = one_line_error(capsys)
    assert f"{ckpt} is not an inchi_lightning checkpoint" in err and message in err
    assert not (tmp_path / "ran").exists()


def test_a_corrupted_last_checkpoint_is_refused_before_resuming(tiny_shards, tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 cut short")
    code = main(["fit", *tiny_run_args(tiny_shards, tmp_path), "--ckpt_path", "last"])
    assert code == 2
    assert "last.ckpt is not an inchi_lightning checkpoint" in one_line_error(capsys)


def test_every_command_loads_checkpoints_weights_only(trained, tiny_shards, monkeypatch):
    from lightning.pytorch import Trainer

    calls = []

    @functools.wraps(Trainer.validate)  # keeps the signature LightningCLI reads its options from
    def validate(self, **kwargs):
        calls.append(kwargs)
        return []

    monkeypatch.setattr(Trainer, "validate", validate)
    args = tiny_run_args(tiny_shards, trained)
    assert main(["validate", *args, "--ckpt_path", str(trained / "checkpoints" / "last.ckpt")]) == 0
    assert calls[0]["weights_only"] is True


def test_print_config_shows_the_model_and_data_sections(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", CONFIG, "--print_config"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "encoder:" in out and "quickstart:" in out and "checkpoint:" in out


@pytest.mark.parametrize("config", sorted(Path(CONFIG).parent.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_parses(config, capsys):
    # A renamed option would otherwise break a config only when someone runs it.
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(config), "--print_config"])
    assert exit_info.value.code == 0


# ---- the graph recogniser through the same commands -------------------------------------------


def test_the_graph_config_fits_and_its_checkpoint_names_its_model(graph_trained):
    checkpoint = torch.load(
        graph_trained / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    assert checkpoint["global_step"] == 4
    hparams = checkpoint["hyper_parameters"]
    assert hparams["_class_path"] == GRAPH_READER
    assert hparams["clean_params"]["image_size"] == TINY_IMAGE_SIZE  # filled in from the shards
    assert 4 < hparams["target_bond_length"] < TINY_IMAGE_SIZE / 2  # measured on them
    assert "vocabulary" not in hparams


def test_graph_fit_logs_its_rate_each_part_and_draws_what_it_read(graph_trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (graph_trained / "logs").rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
    accumulator.Reload()
    scalars = set(accumulator.Tags()["scalars"])
    for part in ("atom", "bond"):
        assert {f"val/{part}_precision", f"val/{part}_recall"} <= scalars
    assert {"val/exact_match", "val/levenshtein", "val/loss_heatmap", "val/loss_bond"} <= scalars
    assert "train/images_per_s" in scalars  # as the captioner logs it
    overlays = accumulator.Images("val/graphs")
    assert [event.step for event in overlays][-2:] == [2, 4]
    assert overlays[-1].width == TINY_IMAGE_SIZE * 3  # three samples, side by side in a grid


def test_a_graph_checkpoint_alone_predicts_and_evaluates(
    graph_trained, tiny_shards, tiny_raw, tmp_path, monkeypatch, capsys
):
    ckpt = str(graph_trained / "checkpoints" / "last.ckpt")
    monkeypatch.chdir(tmp_path)  # no config: the checkpoint says which model it holds
    images, sources = folder_with_a_broken_image(tiny_raw, tmp_path)
    output = tmp_path / "submission.csv"
    assert main(["predict", "--ckpt_path", ckpt, "--data.predict_dir", str(images),
                 "--submission.output", str(output)]) == 0  # fmt: skip
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image_id"] for r in rows] == sorted(["broken"] + [s.stem for s in sources])
    assert "wrote 4 predictions" in capsys.readouterr().out

    args = tiny_graph_args(tiny_shards, graph_trained)
    assert main(["validate", *args, "--ckpt_path", ckpt]) == 0
    assert "val/atom_recall" in capsys.readouterr().out
    out = tmp_path / "per_sample.csv"
    assert main(["evaluate", "--ckpt_path", ckpt, "--images", str(tiny_raw), "--limit", "6",
                 "--num-threads", "1", "--out", str(out)]) == 0  # fmt: skip
    assert "raw best candidate" in capsys.readouterr().out
    with out.open() as handle:
        assert len(list(csv.DictReader(handle))) == 6


def test_predict_and_evaluate_without_a_checkpoint_use_the_shipped_model(
    graph_trained, tiny_raw, tmp_path, monkeypatch, capsys
):
    from inchi_lightning import shipped
    from inchi_lightning.training.checkpoints import release_checkpoint

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shipped, "SHIPPED_MODEL", tmp_path / "absent.ckpt")
    predict = ["predict", "--data.predict_dir", str(tiny_raw / "train"),
               "--submission.output", str(tmp_path / "s.csv")]  # fmt: skip
    evaluate = ["evaluate", "--images", str(tiny_raw), "--limit", "4", "--num-threads", "1"]
    for command in (predict, evaluate):
        assert main(command) == 2
        assert "no model ships with this install" in one_line_error(capsys)

    release = release_checkpoint(graph_trained / "checkpoints" / "last.ckpt", tmp_path / "m.ckpt")
    monkeypatch.setattr(shipped, "SHIPPED_MODEL", release)
    assert main(predict) == 0
    assert f"wrote {len(list((tiny_raw / 'train').rglob('*.png')))} predictions" in (
        capsys.readouterr().out
    )
    assert main(evaluate) == 0
    assert "4 images from" in capsys.readouterr().out
