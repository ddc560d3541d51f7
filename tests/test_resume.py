"""Interrupted commands, really killed (SIGKILL), then run again: they finish as if never stopped.

The killed command runs as a subprocess in its own session, so that ``os.killpg`` also takes its
process pool or DataLoader workers down, as ``kill -9`` of a whole job would.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from inchi_lightning.cli import main
from inchi_lightning.cli import synth as synth_command
from inchi_lightning.prep import synth
from tests.files import file_tree
from tests.test_cli import tiny_graph_args, tiny_run_args

ROOT = Path(__file__).parents[1]


class PauseAfterEachStep(Callback):
    """Slows training down so that a kill lands mid-epoch whatever the machine's speed.

    Args:
        seconds: sleep after every training batch.
    """

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, *args, **kwargs) -> None:
        time.sleep(self.seconds)


def start_command(args: list[str]) -> subprocess.Popen:
    """``python -m inchi_lightning ARGS`` in a session of its own (for ``os.killpg``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "inchi_lightning", *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    """SIGKILL the process group as soon as ``ready()``; fail if the command ends first."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail(f"the command ended before it could be killed: {process.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("the command never reached the point where it is killed")
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def global_step(checkpoint: Path) -> int:
    """A checkpoint's step count, read the way every checkpoint is read: weights only."""
    return torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["global_step"]


def logged_steps(log_dir: Path, loss: str) -> list[int]:
    """The steps at which a CSVLogger run recorded the training loss."""
    with (log_dir / "metrics.csv").open(newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle) if row.get(loss)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_args", "loss"),
    [
        (tiny_run_args, "train/loss"),
        # validation every epoch, as the captioner's: none before the kill or the end
        (
            lambda *paths: [*tiny_graph_args(*paths), "--trainer.val_check_interval", "1000"],
            "train/total",
        ),
    ],  # fmt: skip
    ids=["captioner", "graph"],
)
def test_fit_killed_mid_epoch_resumes_from_the_last_step_checkpoint(
    model_args, loss, tiny_shards, tmp_path
):
    every, max_steps = 3, 12  # an epoch here is ~90 steps (batch size 1): the kill is mid-epoch
    args = [
        *model_args(tiny_shards, tmp_path),
        "--model.encoder.trainable", "false",  # smaller checkpoints: no optimiser state for it
        "--data.batch_size", "1",
        "--trainer.limit_train_batches", "null",
        "--trainer.max_steps", str(max_steps),
        "--trainer.num_sanity_val_steps", "0",
        "--trainer.log_every_n_steps", "1",
        "--trainer.callbacks", f"{__name__}.PauseAfterEachStep",
        "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--trainer.logger.init_args.name", "resume",
        "--last_checkpoint.every_n_train_steps", str(every),
    ]  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"

    process = start_command(["fit", *args])
    kill_when(process, lambda: last.is_file() and global_step(last) >= every)

    killed_at = global_step(last)  # read again: a later save may have landed before the kill
    assert killed_at % every == 0 and killed_at < max_steps
    assert main(["fit", *args, "--ckpt_path", "last"]) == 0

    assert global_step(last) == max_steps
    resumed = logged_steps(tmp_path / "logs" / "resume" / "version_1", loss)
    assert resumed[0] == killed_at  # the first step after the resume is the checkpoint's next
    assert resumed == list(range(killed_at, max_steps))


def synth_args(out: Path, smiles: Path) -> list[str]:
    return ["--out", str(out), "--n", "40", "--seed", "5", "--smiles", str(smiles),
            "--num-workers", "2", "--no-progress"]  # fmt: skip


@pytest.mark.slow
def test_synth_killed_and_rerun_equals_an_uninterrupted_run(tmp_path):
    from tests.test_synth import MOLECULES

    smiles = tmp_path / "molecules.smi"
    smiles.write_text("\n".join(MOLECULES) + "\n")
    killed, reference = tmp_path / "killed", tmp_path / "reference"

    process = start_command(["synth", *synth_args(killed, smiles)])
    kill_when(process, lambda: len(list(killed.rglob("*.png"))) >= 5)
    assert not (killed / synth.LABELS_NAME).exists()  # killed before the end

    assert synth_command.main(synth_args(killed, smiles)) == 0
    assert synth_command.main(synth_args(reference, smiles)) == 0
    labels = (killed / synth.LABELS_NAME).read_text().splitlines()[1:]
    ids = [line.split(",", 1)[0] for line in labels]
    assert len(ids) == len(set(ids)) == 40
    assert len({line.split(",", 1)[1] for line in labels}) == 40
    assert file_tree(killed) == file_tree(reference)
