"""network/folding.py: batch norms folded into their convolutions read exactly as before."""

import pytest
import torch
from torch import nn

from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.folding import fold_batch_norms
from inchi_lightning.network.graph import GraphNetConfig, GraphRecognizer


def trained_statistics(module: nn.Module) -> nn.Module:
    """Batch norms with statistics and affine parameters other than their initial ones."""
    generator = torch.Generator().manual_seed(0)
    for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
        size = bn.num_features
        bn.running_mean.copy_(torch.randn(size, generator=generator))
        bn.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
        bn.weight.data.copy_(torch.randn(size, generator=generator))
        bn.bias.data.copy_(torch.randn(size, generator=generator))
    return module


@pytest.mark.parametrize("neck", ["fpn", "unet"])
def test_a_folded_graph_network_reads_what_it_read_and_keeps_no_batch_norm(neck):
    config = GraphNetConfig(
        num_atom_classes=5, num_charges=3, num_bond_classes=4, neck=neck, head_channels=16,
        encoder=EncoderConfig(name="resnet18", weights="none"),
    )  # fmt: skip
    net = trained_statistics(GraphRecognizer(config)).eval()
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        before = net(images)
        fold_batch_norms(net)
        after = net(images)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    for name in before:
        assert torch.allclose(before[name], after[name], atol=1e-4), name


def test_a_batch_norm_after_anything_but_a_convolution_stays():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Conv2d(1, 2, 3), nn.ReLU())
    block = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(2))
    fold_batch_norms(nn.Sequential(net, block).eval())
    assert isinstance(net[1], nn.BatchNorm1d) and isinstance(block[1], nn.BatchNorm2d)


def test_folding_refuses_a_network_in_training():
    with pytest.raises(ValueError, match="eval mode only"):
        fold_batch_norms(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
