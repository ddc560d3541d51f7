"""fit, validate and resume on Ray Train workers: a simulated two-node cluster and a private one.

Every Ray run costs tens of seconds to start, so one module-scoped fixture trains twice on a
two-node cluster (two workers of one CPU, one per node): first with a worker that crashes once
after the first epoch, then again under the same run name with a larger ``max_epochs``. The tests
assert what those two runs left behind; the last one validates the best checkpoint on two workers
of a private cluster and in process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from inchi_lightning.cli.lightning import InChICLI
from inchi_lightning.training.distributed import RayRunOutcome

ROOT = Path(__file__).parents[1]
CONFIG = str(ROOT / "configs" / "quickstart.yaml")
STEPS_PER_EPOCH = 2
RUN_NAME = "tiny"


class StartRecorder(Callback):
    """Appends one JSON line per rank when training starts: where, from which step, how wide.

    Args:
        path: the file to append to (shared by every worker of the test).
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import ray

        record = {
            "rank": trainer.global_rank,
            "node": ray.get_runtime_context().get_node_id(),
            "step": trainer.global_step,
            "torch_threads": torch.get_num_threads(),
            "loader_workers": trainer.datamodule.num_workers,
        }
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


class CrashOnce(Callback):
    """Raises in rank 0 when ``epoch`` starts, the first time only (``marker`` remembers).

    Args:
        marker: a file created just before the crash.
        epoch: the epoch whose start crashes.
    """

    def __init__(self, marker: str, epoch: int = 1) -> None:
        self.marker = Path(marker)
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch and trainer.global_rank == 0:
            if not self.marker.exists():
                self.marker.touch()
                raise RuntimeError("simulated worker crash")


def tiny_args(shards: Path, tmp_path: Path) -> list[str]:
    """The quickstart config shrunk to seconds; one validation batch per rank."""
    return [
        "--config", CONFIG,
        "--data.shards", str(shards),
        "--data.quickstart", "null",
        "--data.batch_size", "8",
        "--data.num_workers", "1",
        "--model.encoder.name", "resnet18",
        "--model.decoder.hidden_dim", "64",
        "--model.decoder.embed_dim", "32",
        "--model.warmup_steps", "1",
        "--trainer.max_time", "null",
        "--trainer.limit_train_batches", str(STEPS_PER_EPOCH),
        "--trainer.limit_val_batches", "1",
        "--trainer.num_sanity_val_steps", "0",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--checkpoint.dirpath", str(tmp_path / "checkpoints"),
        "--ray.storage_path", str(tmp_path / "ray_results"),
    ]  # fmt: skip


def ray_fit_args(
    shards: Path, tmp_path: Path, address: str, max_epochs: int, callbacks: Path
) -> list[str]:
    return [
        "fit",
        *tiny_args(shards, tmp_path),
        "--config", str(callbacks),
        "--trainer.max_epochs", str(max_epochs),
        "--ray.num_workers", "2",
        "--ray.address", address,
        "--ray.name", RUN_NAME,
    ]  # fmt: skip


def write_callbacks_config(tmp_path: Path) -> Path:
    path = tmp_path / "callbacks.yaml"
    callbacks = [
        {
            "class_path": f"{__name__}.StartRecorder",
            "init_args": {"path": str(tmp_path / "starts.jsonl")},
        },
        {
            "class_path": f"{__name__}.CrashOnce",
            "init_args": {"marker": str(tmp_path / "crashed"), "epoch": 1},
        },
    ]
    path.write_text(json.dumps({"trainer": {"callbacks": callbacks}}))  # JSON is YAML
    return path


@dataclass
class TwoNodeRuns:
    """The two fits on the two-node cluster and every rank's record of where training started."""

    tmp_path: Path
    crashed: RayRunOutcome
    resumed: RayRunOutcome
    starts: list[dict]


@pytest.fixture(scope="module", autouse=True)
def importable_tests():
    """Ray workers import this module's callbacks by name: put the repository on their path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        yield


@pytest.fixture(scope="module")
def two_node_runs(tiny_shards, tmp_path_factory) -> TwoNodeRuns:
    from ray.cluster_utils import Cluster

    tmp_path = tmp_path_factory.mktemp("ray")
    callbacks = write_callbacks_config(tmp_path)
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    cluster.add_node(num_cpus=1)
    try:
        address = cluster.address
        crashed = InChICLI(args=ray_fit_args(tiny_shards, tmp_path, address, 2, callbacks))
        resumed = InChICLI(args=ray_fit_args(tiny_shards, tmp_path, address, 3, callbacks))
    finally:
        cluster.shutdown()
    lines = (tmp_path / "starts.jsonl").read_text().splitlines()
    return TwoNodeRuns(
        tmp_path=tmp_path,
        crashed=crashed.ray_outcome,
        resumed=resumed.ray_outcome,
        starts=[json.loads(line) for line in lines],
    )


def rank0_start_steps(runs: TwoNodeRuns) -> list[int]:
    return [record["step"] for record in runs.starts if record["rank"] == 0]


@pytest.mark.slow
def test_two_workers_train_on_two_nodes_within_their_cpu_share(two_node_runs):
    first_attempt = two_node_runs.starts[:2]
    assert sorted(record["rank"] for record in first_attempt) == [0, 1]
    assert len({record["node"] for record in first_attempt}) == 2
    # One CPU per worker: one torch thread, and no DataLoader processes beside it.
    assert {record["torch_threads"] for record in two_node_runs.starts} == {1}
    assert {record["loader_workers"] for record in two_node_runs.starts} == {0}


@pytest.mark.slow
def test_a_crashed_worker_is_restarted_from_the_latest_checkpoint(two_node_runs):
    assert (two_node_runs.tmp_path / "crashed").exists()
    # Attempt 1 starts at step 0 and crashes when epoch 1 starts; attempt 2 resumes after epoch 0.
    assert rank0_start_steps(two_node_runs)[:2] == [0, STEPS_PER_EPOCH]
    assert two_node_runs.crashed.metrics["step"] == 2 * STEPS_PER_EPOCH


@pytest.mark.slow
def test_rerunning_a_finished_run_continues_its_global_step_and_log_directory(two_node_runs):
    assert rank0_start_steps(two_node_runs)[2:] == [2 * STEPS_PER_EPOCH]
    assert two_node_runs.resumed.metrics["step"] == 3 * STEPS_PER_EPOCH
    assert two_node_runs.resumed.run_dir == two_node_runs.crashed.run_dir
    event_files = list((two_node_runs.tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert len(event_files) >= 3  # first attempt, restart, re-run
    assert {path.parent.name for path in event_files} == {RUN_NAME}


@pytest.mark.slow
def test_fit_exposes_the_best_checkpoint_by_validation_levenshtein(two_node_runs):
    best = Path(two_node_runs.resumed.best_checkpoint)
    assert best == Path(two_node_runs.resumed.run_dir) / "best.ckpt"
    checkpoint = torch.load(best, map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["vocabulary"]
    assert checkpoint["global_step"] in {STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH, 3 * STEPS_PER_EPOCH}


@pytest.fixture(scope="module")
def odd_val_shards(tiny_shards, tmp_path_factory) -> Path:
    """``tiny_shards`` with an odd number of validation samples, so that a sampler that pads
    the split to a multiple of two workers would score one sample twice."""
    from inchi_lightning.shards import ShardSet, write_shard

    val = ShardSet(tiny_shards / "val")
    if len(val) % 2 == 1:
        return tiny_shards
    shards = tmp_path_factory.mktemp("odd_val") / "shards"
    shutil.copytree(tiny_shards, shards, ignore=shutil.ignore_patterns("val"))
    images, image_ids, inchis = zip(*(val[i] for i in range(len(val) - 1)), strict=True)
    write_shard(shards / "val", 0, np.stack(images), image_ids, inchis)
    return shards


@pytest.mark.slow
def test_two_worker_validation_scores_each_sample_once(two_node_runs, odd_val_shards, tmp_path):
    from inchi_lightning.shards import ShardSet

    assert len(ShardSet(odd_val_shards / "val")) % 2 == 1
    args = [
        "validate",
        *tiny_args(odd_val_shards, tmp_path),
        "--ckpt_path", two_node_runs.resumed.best_checkpoint,
        "--trainer.limit_val_batches", "1.0",
        "--data.batch_size", "1",  # the same arithmetic for every image, however it is split
    ]  # fmt: skip
    in_process = InChICLI(args=args).trainer.callback_metrics
    on_ray = InChICLI(args=[*args, "--ray.num_workers", "2"]).ray_outcome.metrics
    # Not val/loss: Lightning's sync_dist mean divides the summed batch sizes by the world size
    # in integer arithmetic, so it is off by up to (workers - 1) / samples on uneven splits.
    for metric in ("val/levenshtein", "val/exact_match"):
        assert on_ray[metric] == pytest.approx(float(in_process[metric]), abs=1e-6)


def test_the_ray_section_is_configurable_without_importing_ray():
    script = (
        "import sys\n"
        "from inchi_lightning.cli import main\n"
        "try:\n"
        f"    main(['fit', '--config', {CONFIG!r}, '--ray.num_workers', '3', '--print_config'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'ray' not in sys.modules, 'building the parser imported ray'\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "ray:\n  num_workers: 3\n  cpus_per_worker: 1" in completed.stdout


def test_more_workers_than_cores_is_a_one_line_error(tiny_shards, tmp_path, capsys):
    from inchi_lightning.cli import main

    too_many = str(len(os.sched_getaffinity(0)) + 1)
    args = ["fit", *tiny_args(tiny_shards, tmp_path), "--ray.num_workers", too_many]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: ray.num_workers {too_many} x ray.cpus_per_worker 1 needs")
    assert "\n" not in err


@pytest.mark.slow
def test_the_graph_recogniser_trains_on_a_ray_worker_in_bf16(tiny_shards, tmp_path):
    from tests.test_cli import GRAPH_READER, tiny_graph_args

    args = [
        "fit",
        *tiny_graph_args(tiny_shards, tmp_path),
        "--trainer.max_steps", "-1",
        "--trainer.max_epochs", "2",
        "--trainer.limit_train_batches", "2",
        "--trainer.limit_val_batches", "1",
        "--trainer.precision", "bf16-mixed",
        "--ray.num_workers", "1",  # two workers and a crash: the captioner's runs above
        "--ray.storage_path", str(tmp_path / "ray_results"),
    ]  # fmt: skip
    outcome = InChICLI(args=args).ray_outcome
    assert outcome.metrics["step"] == 4 and outcome.metrics["epoch"] == 2
    assert {"val/exact_match", "val/atom_recall", "val/bond_recall"} <= set(outcome.metrics)
    hparams = torch.load(outcome.best_checkpoint, map_location="cpu", weights_only=True)[
        "hyper_parameters"
    ]
    assert hparams["_class_path"] == GRAPH_READER
