"""The graph recogniser's network: shapes, sampling, decoding, and learning toy graphs with
its losses (graph_loss.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.graph import (
    DecodedAtoms,
    DecodeSettings,
    GraphNetConfig,
    GraphRecognizer,
    bond_radius,
    candidate_pairs,
    decode_atoms,
    decode_graph,
    graphs_from_outputs,
    pair_probabilities,
    sample_segments,
    separate_atoms,
)
from inchi_lightning.network.graph_loss import (
    GraphLoss,
    GraphLossConfig,
    GraphTargets,
    centre_heatmap,
)

# The toy drawings' classes: atoms are discs (0) or rings (1), charge 1 draws them gray; pairs
# are none, a line, or a wedge narrow at the first atom (2) or at the second (3).
NONE, LINE, WEDGE, WEDGE_REVERSED = 0, 1, 2, 3
REVERSED = [NONE, LINE, WEDGE_REVERSED, WEDGE]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine two OpenMP threads spin against other
    processes (30 toy steps: 30 s with two, 6 s with one, the same numbers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(name: str = "resnet18", neck: str = "fpn", **overrides) -> GraphNetConfig:
    settings = dict(
        num_atom_classes=2,
        num_charges=2,
        num_bond_classes=4,
        reversed_bond_classes=REVERSED,
        encoder=EncoderConfig(name=name, weights="none"),
        neck=neck,
        head_channels=32,
        bond_samples=8,
        bond_channels=16,
        bond_hidden=64,
    )
    settings.update(overrides)
    return GraphNetConfig(**settings)


@pytest.mark.parametrize(
    ("name", "size", "neck"),
    [
        ("resnet18", 64, "fpn"),
        ("resnet18", 128, "unet"),
        ("resnet34", 64, "unet"),
        ("resnet34", 128, "fpn"),
    ],
)
def test_output_shapes(name: str, size: int, neck: str) -> None:
    torch.manual_seed(0)
    model = GraphRecognizer(tiny_config(name, neck)).eval()
    with torch.no_grad():
        outputs = model(torch.rand(2, 1, size, size))
    cells = size // 4
    assert outputs["heatmap_logits"].shape == (2, 1, cells, cells)
    assert outputs["atom_logits"].shape == (2, 2, cells, cells)
    assert outputs["charge_logits"].shape == (2, 2, cells, cells)
    assert outputs["features"].shape == (2, 32, cells, cells)
    assert outputs["offsets"].shape == (2, 2, cells, cells)
    pairs = torch.tensor([[0, 3.0, 5.0, 40.0, 50.0], [1, 10.0, 10.0, 20.0, 30.0]])
    with torch.no_grad():
        assert model.bond_logits(outputs["features"], pairs).shape == (2, 4)


def test_offsets_off_leaves_them_out() -> None:
    model = GraphRecognizer(tiny_config(offsets=False)).eval()
    with torch.no_grad():
        assert "offsets" not in model(torch.rand(1, 1, 64, 64))


def test_bad_reversal_is_refused() -> None:
    with pytest.raises(ValueError, match="reversed_bond_classes"):
        GraphRecognizer(tiny_config(reversed_bond_classes=[0, 2, 2, 3]))


def coordinate_features(size: int) -> torch.Tensor:
    """(1, 2, S/4, S/4): each cell holds its centre's input-pixel x and y."""
    centres = torch.arange(size // 4, dtype=torch.float32) * 4 + 2
    x = centres[None, :].expand(size // 4, -1)
    return torch.stack([x, x.T])[None]


def test_segments_sample_the_right_places() -> None:
    # Bilinear interpolation reproduces a linear function exactly between the cell centres.
    features = coordinate_features(64).repeat(2, 1, 1, 1)
    features[1] *= -1  # image 1 must be read from image 1
    pairs = torch.tensor([[1, 10.0, 20.0, 50.0, 4.0], [0, 3.0, 60.0, 33.0, 12.5]])
    sampled = sample_segments(features, pairs, samples=4)  # (2, 6, 2)
    t = torch.linspace(0, 1, 6)[:, None]
    for row, sign in zip(pairs, (-1, 1), strict=True):
        expected = row[1:3] + t * (row[3:5] - row[1:3])
        got = sampled[0] if sign == -1 else sampled[1]
        torch.testing.assert_close(got * sign, expected)


def test_pair_order_matters() -> None:
    torch.manual_seed(0)
    model = GraphRecognizer(tiny_config()).eval()
    features = torch.randn(1, 32, 16, 16)
    forward = torch.tensor([[0, 8.0, 12.0, 40.0, 44.0]])
    backward = forward[:, [0, 3, 4, 1, 2]]
    samples = sample_segments(features, torch.cat([forward, backward]), samples=8)
    torch.testing.assert_close(samples[0], samples[1].flip(0))
    with torch.no_grad():
        assert not torch.allclose(
            model.bond_logits(features, forward), model.bond_logits(features, backward)
        )


def test_pair_probabilities_read_both_ways_in_one_direction() -> None:
    """Pair (i, j) and pair (j, i) are one bond: the same probabilities, with the directional
    classes swapped; each row sums to one, and each image's pairs read their own features."""
    torch.manual_seed(0)
    model = GraphRecognizer(tiny_config()).eval()
    features = torch.randn(2, 32, 16, 16)
    points = [torch.tensor([[8.0, 12.0], [40.0, 44.0]]), torch.tensor([[8.0, 12.0], [40.0, 44.0]])]
    with torch.no_grad():
        one_way = pair_probabilities(model, features, points, [torch.tensor([[0, 1]])] * 2)
        other_way = pair_probabilities(model, features, points, [torch.tensor([[1, 0]])] * 2)
    torch.testing.assert_close(one_way.sum(dim=1), torch.ones(2))
    torch.testing.assert_close(one_way, other_way[:, REVERSED])
    assert not torch.allclose(one_way[0], one_way[1])


def test_candidate_pairs_and_radius() -> None:
    points = torch.tensor([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [50.0, 0.0]])
    assert candidate_pairs(points, 10.0).tolist() == [[0, 1], [1, 2]]
    assert candidate_pairs(points, 20.0).tolist() == [[0, 1], [0, 2], [1, 2]]
    assert candidate_pairs(points[:1], 99.0).shape == (0, 2)
    assert bond_radius(points, 2.0) == pytest.approx(20.0)  # nearest: 10, 10, 10, 30


def test_decode_atoms_recovers_a_perfect_heatmap() -> None:
    points = torch.tensor([[6.3, 50.1], [30.0, 30.0], [57.9, 9.2]])
    heatmap = centre_heatmap([points], (16, 16), sigma=1.0)
    logits = torch.logit(heatmap.clamp(1e-4, 1 - 1e-4))
    atom_logits = torch.zeros(1, 2, 16, 16)
    atom_logits[0, 1, 2, 14] = 5.0  # the third point's cell is class 1
    outputs = {
        "heatmap_logits": logits,
        "atom_logits": atom_logits,
        "charge_logits": torch.zeros(1, 3, 16, 16),
    }
    (atoms,) = decode_atoms(outputs, threshold=0.5)
    assert len(atoms.xy) == 3
    order = atoms.xy[:, 0].argsort()  # left to right, like `points`
    assert (atoms.xy[order] - points).abs().max() <= 4
    assert atoms.classes[order].tolist() == [0, 0, 1]
    assert torch.all(atoms.scores > 0.99)


def test_a_second_peak_within_the_separation_is_the_same_atom_read_twice() -> None:
    # A chain 30 px a bond (class 1 its carbons, 2 its N at x = 90), a weaker carbon peak 8 px
    # from its third atom (a hash's wide end), and a label (class 3) written 8 px from its N.
    chain = [[30.0 * k, 0.0] for k in range(8)]
    xy = torch.tensor([*chain, [60.0, 8.0], [98.0, 0.0]])
    atoms = DecodedAtoms(
        xy=xy,
        classes=torch.tensor([1, 1, 1, 2, 1, 1, 1, 1, 1, 3]),
        charges=torch.zeros(10, dtype=torch.long),
        scores=torch.linspace(0.9, 0.4, 10),  # most confident first
    )
    kept = separate_atoms(atoms, 0.4, plain_class=1)  # 8 px is 0.27 of the 30 px bonds
    assert kept.xy.tolist() == [*chain, [98.0, 0.0]]  # the label beside the N stays
    assert kept.classes.tolist() == [1, 1, 1, 2, 1, 1, 1, 1, 3]
    assert kept.scores.tolist() == pytest.approx(atoms.scores[[0, 1, 2, 3, 4, 5, 6, 7, 9]].tolist())
    assert len(separate_atoms(atoms, 0.4).xy) == 9  # no plain class: only the same class's
    labels = atoms._replace(classes=torch.tensor([1, 1, 1, 3, 1, 1, 1, 1, 2, 3]))
    assert len(separate_atoms(labels, 0.4).xy) == 9  # one label read twice: one atom
    assert len(separate_atoms(atoms, 0.2, plain_class=1).xy) == 10  # 8 px > 0.2 x 30 px
    assert len(separate_atoms(atoms, 0.0, plain_class=1).xy) == 10  # 0: every peak kept


def test_decode_settings_reach_the_peaks_and_the_pairs() -> None:
    # Five atoms of one class 24 px apart (stride-4 cells 6 apart) bending down the right side,
    # and a weaker peak 8 px below the second: a repeat within 0.4 of a bond.
    torch.manual_seed(0)
    model = GraphRecognizer(tiny_config()).eval()
    with torch.no_grad():
        model.bond_mlp[-1].bias[1] = 99.0  # every candidate pair reads as a single bond
        outputs = model(torch.zeros(1, 1, 64, 64))
    heat = torch.full((1, 1, 16, 16), -9.0)
    for row, column in [(2, 2), (2, 8), (2, 14), (8, 14), (14, 14)]:
        heat[0, 0, row, column] = 4.0
    heat[0, 0, 4, 8] = 1.0
    outputs = {
        **outputs,
        "heatmap_logits": heat,
        "atom_logits": torch.zeros_like(outputs["atom_logits"]),
        "offsets": torch.zeros_like(outputs["offsets"]),  # every atom at its cell's corner
    }

    def read(**settings) -> tuple[int, int]:
        settings = {"threshold": 0.5, **settings}
        (graph,) = graphs_from_outputs(model, outputs, DecodeSettings(**settings))
        return len(graph.atoms.xy), len(graph.bonds.pairs)

    assert read()[0] == 6
    assert read(separation=0.4)[0] == 5
    assert read(threshold=0.9)[0] == 5  # the weak peak's sigmoid(1) = 0.73 falls short
    assert read(max_atoms=3)[0] == 3
    # The model's 2.5 neighbour distances (60 px) reach 9 of the 10 pairs: all but the ends'.
    assert read(separation=0.4) == (5, 9)
    # Half a neighbour distance (12 px against 24) leaves no candidate pair: no bond at all.
    assert read(separation=0.4, max_bond_length=0.5)[1] == 0


# ---- learning on toy drawings ----------------------------------------------------------------

# Each image: atoms (x, y, class, charge) in input pixels and bonds (i, j, class of i -> j).
TOY_GRAPHS = [
    ([(14.5, 32.5, 0, 0), (48.5, 30.5, 1, 0)], [(0, 1, LINE)]),
    (
        [(12.5, 14.5, 0, 0), (40.5, 18.5, 0, 1), (26.5, 48.5, 1, 0)],
        [(0, 1, WEDGE), (1, 2, LINE)],
    ),
    (
        [(10.5, 50.5, 1, 1), (24.5, 26.5, 0, 0), (44.5, 44.5, 0, 0), (53.5, 14.5, 1, 0)],
        [(0, 1, LINE), (1, 2, WEDGE_REVERSED), (2, 3, LINE)],
    ),
    (
        [
            (32.0 + 21 * math.sin(a), 33.0 - 21 * math.cos(a), k % 2, int(k == 3))
            for k, a in enumerate(np.linspace(0, 2 * math.pi, 5, endpoint=False))
        ],
        [(0, 1, LINE), (1, 2, WEDGE), (2, 3, LINE), (4, 3, WEDGE), (4, 0, LINE)],
    ),
]


def draw(atoms: list[tuple], bonds: list[tuple], size: int = 64) -> np.ndarray:
    """(S, S) float32 ink: lines and wedges, then atoms in cleared discs (like atom labels)."""
    rows, columns = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    image = np.zeros((size, size), dtype=np.float32)
    for i, j, kind in bonds:
        start, end = np.array(atoms[i][:2]), np.array(atoms[j][:2])
        if kind == WEDGE_REVERSED:
            start, end = end, start
        direction = end - start
        t = ((columns - start[0]) * direction[0] + (rows - start[1]) * direction[1]) / (
            direction @ direction
        )
        across = np.abs((columns - start[0]) * direction[1] - (rows - start[1]) * direction[0])
        across /= np.linalg.norm(direction)
        width = 1.0 if kind == LINE else 0.3 + 3.2 * t  # half-widths
        image[(t >= 0) & (t <= 1) & (across <= width)] = 1.0
    for x, y, kind, charge in atoms:
        radius = np.hypot(columns - x, rows - y)
        image[radius <= 5.5] = 0.0
        shape = radius <= 3.5 if kind == 0 else (radius >= 2.0) & (radius <= 4.5)
        image[shape] = 0.5 if charge else 1.0
    return image


def toy_batch() -> tuple[torch.Tensor, GraphTargets]:
    images = torch.from_numpy(np.stack([draw(a, b) for a, b in TOY_GRAPHS]))[:, None]
    targets = GraphTargets(
        points=[torch.tensor([a[:2] for a in atoms]) for atoms, _ in TOY_GRAPHS],
        atoms=[torch.tensor([a[2] for a in atoms]) for atoms, _ in TOY_GRAPHS],
        charges=[torch.tensor([a[3] for a in atoms]) for atoms, _ in TOY_GRAPHS],
        bonds=[torch.tensor(bonds) for _, bonds in TOY_GRAPHS],
    )
    return images, targets


def canonical(i: int, j: int, kind: int) -> tuple[int, int, int]:
    return (i, j, kind) if i < j else (j, i, REVERSED[kind])


def test_learns_toy_graphs() -> None:
    torch.manual_seed(0)
    images, targets = toy_batch()
    config = tiny_config()
    model = GraphRecognizer(config)
    loss = GraphLoss(config, GraphLossConfig(jitter=1.0))
    steps = 100  # 70 suffice for seeds 0-2; 100 leaves a margin
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    model.train()
    for _ in range(steps):
        losses = loss(model, model(images), targets)
        optimiser.zero_grad()
        losses["total"].backward()
        optimiser.step()
        schedule.step()
    assert set(losses) == {"heatmap", "atom", "charge", "offset", "bond", "total"}

    model.eval()
    graphs = decode_graph(model, images, DecodeSettings(threshold=0.3))
    for (atoms, bonds), graph in zip(TOY_GRAPHS, graphs, strict=True):
        truth = torch.tensor([a[:2] for a in atoms])
        assert len(graph.atoms.xy) == len(atoms)
        # Match each decoded atom to its nearest true atom; the match must be one-to-one.
        match = torch.cdist(graph.atoms.xy, truth).argmin(dim=1)
        assert sorted(match.tolist()) == list(range(len(atoms)))
        assert (graph.atoms.xy - truth[match]).norm(dim=1).max() <= 4
        assert graph.atoms.classes.tolist() == [atoms[m][2] for m in match]
        assert graph.atoms.charges.tolist() == [atoms[m][3] for m in match]
        decoded = {
            canonical(int(match[i]), int(match[j]), int(kind))
            for (i, j), kind in zip(graph.bonds.pairs.tolist(), graph.bonds.classes, strict=True)
        }
        assert decoded == {canonical(*bond) for bond in bonds}


def test_empty_images_decode_and_train() -> None:
    torch.manual_seed(0)
    config = tiny_config()
    model = GraphRecognizer(config)
    images = torch.zeros(2, 1, 64, 64)
    targets = GraphTargets(
        points=[torch.zeros(0, 2), torch.tensor([[20.0, 20.0]])],
        atoms=[torch.zeros(0, dtype=torch.long), torch.tensor([1])],
        charges=[torch.zeros(0, dtype=torch.long), torch.tensor([0])],
        bonds=[torch.zeros(0, 3, dtype=torch.long), torch.zeros(0, 3, dtype=torch.long)],
    )
    losses = GraphLoss(config)(model, model(images), targets)
    losses["total"].backward()
    assert torch.isfinite(losses["total"]) and losses["bond"] == 0
    # Nothing passes a threshold of 1: no atoms.
    graphs = decode_graph(model.eval(), images, DecodeSettings(threshold=1.0))
    assert [len(g.atoms.xy) for g in graphs] == [0, 0]
    assert [len(g.bonds.pairs) for g in graphs] == [0, 0]


@pytest.mark.parametrize("channels_last", [False, True])
def test_encoder_stages_end_with_forward(channels_last: bool) -> None:
    torch.manual_seed(0)
    model = GraphRecognizer(
        tiny_config(encoder=EncoderConfig("resnet18", "none", channels_last=channels_last))
    ).eval()
    images = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        stages = model.encoder.stages(images)
        assert [s.shape[1:] for s in stages] == [
            (64, 16, 16),
            (128, 8, 8),
            (256, 4, 4),
            (512, 2, 2),
        ]
        torch.testing.assert_close(stages[-1], model.encoder(images))
        assert model(images)["features"].shape == (1, 32, 16, 16)
