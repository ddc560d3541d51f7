"""Checkpoints from before classes were appended: they load, read as before, resume training."""

import pytest
import torch
from torch import nn

from inchi_lightning.reading.appended_classes import APPENDED_CLASS_BIAS, grow_appended_classes
from inchi_lightning.training.graph_module import GraphModule


class Classifier(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.trunk = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Conv2d(4, classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.trunk(images)))


def trained_checkpoint(classes: int) -> tuple[nn.Module, dict]:
    torch.manual_seed(0)
    model = Classifier(classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.rand(2, 1, 8, 8)).sum().backward()
    optimizer.step()
    return model, {"state_dict": model.state_dict(), "optimizer_states": [optimizer.state_dict()]}


def test_a_grown_checkpoint_scores_the_old_classes_as_before_and_never_the_new_ones() -> None:
    old, checkpoint = trained_checkpoint(classes=3)
    new = Classifier(classes=5)
    assert grow_appended_classes(checkpoint, new, ["head"]) == {"head": 2}
    new.load_state_dict(checkpoint["state_dict"])  # strict: every shape fits
    images = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        before, after = old(images), new(images)
    assert torch.equal(after[:, :3], before)
    assert torch.all(after[:, 3:] == APPENDED_CLASS_BIAS)
    assert torch.equal(after.argmax(1), before.argmax(1))
    assert grow_appended_classes(checkpoint, new, ["head"]) == {}  # grown once is enough


def test_a_grown_optimizer_state_resumes_with_fresh_moments_for_the_new_rows() -> None:
    old, checkpoint = trained_checkpoint(classes=3)
    new = Classifier(classes=5)
    grow_appended_classes(checkpoint, new, ["head"])
    new.load_state_dict(checkpoint["state_dict"])
    optimizer = torch.optim.AdamW(new.parameters(), lr=1e-2)
    optimizer.load_state_dict(checkpoint["optimizer_states"][0])
    moments = optimizer.state[new.head.weight]["exp_avg"]
    assert moments.shape == new.head.weight.shape and torch.all(moments[3:] == 0)
    saved = checkpoint["optimizer_states"][0]["state"][2]["exp_avg"]  # head.weight: 3rd param
    assert torch.equal(moments[:3], saved[:3]) and moments[:3].abs().sum() > 0
    new(torch.rand(2, 1, 8, 8))[:, 4].sum().backward()
    optimizer.step()  # the shapes agree: a step runs and moves the new class's row
    assert new.head.weight[4].abs().sum() > 0


def test_more_classes_saved_than_wanted_is_left_to_load_state_dict() -> None:
    _, checkpoint = trained_checkpoint(classes=5)
    smaller = Classifier(classes=3)
    assert grow_appended_classes(checkpoint, smaller, ["head"]) == {}
    with pytest.raises(RuntimeError, match="size mismatch"):
        smaller.load_state_dict(checkpoint["state_dict"])


def test_a_graph_reader_saved_before_group_labels_were_appended_reads_the_same(
    small_graph_checkpoint, tmp_path
) -> None:
    model = GraphModule.load_from_checkpoint(small_graph_checkpoint, weights_only=True)
    checkpoint = torch.load(small_graph_checkpoint, weights_only=True)
    state = checkpoint["state_dict"]
    classes = state["net.atom_head.bias"].shape[0]
    for key in ("net.atom_head.weight", "net.atom_head.bias"):
        state[key] = state[key][: classes - 7]  # as saved when there were 7 classes fewer
    torch.save(checkpoint, tmp_path / "older.ckpt")
    older = GraphModule.load_from_checkpoint(tmp_path / "older.ckpt", weights_only=True)
    images = torch.rand(2, 1, 64, 64)
    model.eval(), older.eval()
    with torch.no_grad():
        now, then = model.net(images)["atom_logits"], older.net(images)["atom_logits"]
    assert then.shape == now.shape
    assert torch.equal(then[:, : classes - 7], now[:, : classes - 7])
    assert torch.all(then[:, classes - 7 :] == APPENDED_CLASS_BIAS)
