"""last.ckpt and best.ckpt across a resume: the best survives a run continued from last; weight
averages of several checkpoints."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from inchi_lightning.training.checkpoints import LastCheckpoint, mean_checkpoint


class ScriptedScore(L.LightningModule):
    """A linear layer whose validation ``score`` is read from ``scores`` by global step."""

    def __init__(self, scores: dict[int, float]) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.scores = scores

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("score", self.scores[self.global_step], batch_size=len(batch[0]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _fit(directory: Path, scores: dict[int, float], max_steps: int, resume: bool) -> None:
    loader = DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=4)
    best = ModelCheckpoint(directory, "best", monitor="score", mode="max")
    last = LastCheckpoint(str(directory), every_n_train_steps=2)
    trainer = L.Trainer(
        max_steps=max_steps,
        val_check_interval=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        callbacks=[best, last],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=directory,
    )
    ckpt_path = str(directory / "last.ckpt") if resume else None
    trainer.fit(ScriptedScore(scores), loader, loader, ckpt_path=ckpt_path)


def _step(path: Path) -> int:
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


def test_a_resumed_run_keeps_the_best_of_the_validations_before_it(tmp_path):
    # Step 4 is validated right after last.ckpt was saved at that same step: the best there
    # must reach last.ckpt, or the resumed run takes step 6's 0.6 for a new best.
    scores = {2: 0.5, 4: 0.9, 6: 0.6, 8: 0.7}
    _fit(tmp_path, scores, max_steps=4, resume=False)
    assert _step(tmp_path / "best.ckpt") == 4
    _fit(tmp_path, scores, max_steps=8, resume=True)
    assert _step(tmp_path / "last.ckpt") == 8
    assert _step(tmp_path / "best.ckpt") == 4


def test_a_better_validation_after_the_resume_is_the_new_best(tmp_path):
    scores = {2: 0.5, 4: 0.6, 6: 0.9, 8: 0.7}
    _fit(tmp_path, scores, max_steps=4, resume=False)
    _fit(tmp_path, scores, max_steps=8, resume=True)
    assert _step(tmp_path / "best.ckpt") == 6


def test_an_average_holds_the_mean_of_the_weights_and_the_first_ones_counts(
    small_graph_checkpoint, scaled_checkpoint, tmp_path
):
    tripled = scaled_checkpoint(3.0)
    mean = mean_checkpoint([small_graph_checkpoint, tripled])
    first = torch.load(small_graph_checkpoint, map_location="cpu", weights_only=True)
    assert mean["hyper_parameters"] == first["hyper_parameters"]
    floats = 0
    for name, tensor in first["state_dict"].items():
        got = mean["state_dict"][name]
        assert got.dtype == tensor.dtype
        if tensor.is_floating_point():
            floats += 1
            assert torch.allclose(got, 2 * tensor, atol=1e-6), name
        else:
            assert torch.equal(got, tensor), name
    assert floats > 0


def test_checkpoints_of_other_shapes_are_not_averaged(small_graph_checkpoint, tmp_path):
    checkpoint = torch.load(small_graph_checkpoint, map_location="cpu", weights_only=True)
    name = next(iter(checkpoint["state_dict"]))
    checkpoint["state_dict"][name] = torch.zeros(3)
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="other names or shapes"):
        mean_checkpoint([small_graph_checkpoint, tmp_path / "other.ckpt"])
    with pytest.raises(ValueError, match="at least two"):
        mean_checkpoint([small_graph_checkpoint])
