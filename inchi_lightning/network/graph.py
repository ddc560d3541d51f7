"""The graph recogniser's network: atoms as heatmap peaks, bonds as classified atom pairs.

A ResNet trunk, a neck that merges its stages into one stride-4 feature map, 1x1 heads for an
atom-centre heatmap (CenterNet), atom class, charge and sub-cell offset logits, and a bond
classifier over ordered atom pairs that reads the features along the segment between them.
Plain ``nn.Module``s and functions of tensors, free of Lightning and RDKit; the class lists
(atoms, charges, pair classes) belong to the caller, who passes their sizes in.

Coordinates are continuous pixels of the input image, x right, y down: the image spans [0, S],
pixel (row r, column c) covers [c, c + 1) x [r, r + 1), so its centre is (c + 0.5, r + 0.5).
Feature cell (u, v) of the stride-4 map covers input pixels [4u, 4u + 4) x [4v, 4v + 4): its
centre is (4u + 2, 4v + 2). This is ``F.grid_sample``'s ``align_corners=False`` convention.

Shapes: B batch, S image side (a multiple of 32), H = W = S/4, F feature channels, K atoms,
A atom classes, Q charges, C pair (bond) classes, N pairs, T = bond_samples + 2 points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from inchi_lightning.network.encoder import EncoderConfig, ResNetEncoder

STRIDE = 4
# CenterNet's heatmap bias: sigmoid(-2.19) = 0.1, so the first steps' focal loss is not
# swamped by the many background cells.
HEATMAP_PRIOR_BIAS = -2.19
# How far apart two atoms may be and still be a candidate bond, in median nearest-neighbour
# distances: scale-free, since drawings differ in bond length but a drawing's own bonds are
# nearly uniform. Not 2: 0.73% of synthetic drawings have a bond longer than twice that, 213
# of 220 of them bridged rings (RDKit draws adamantane's long bond at 2.19); 0.06% beyond 2.5.
MAX_BOND_LENGTH = 2.5
# Heatmap probability above which a peak is an atom, unless a reader is given its own (the
# shipped model reads at 0.4, measured for it: scripts/release_model.py --threshold).
ATOM_THRESHOLD = 0.3
# Two peaks of one class (or a carbon's beside anything) closer than this many median
# nearest-neighbour distances are one atom read twice, and the weaker is dropped: a 3x3 maximum
# at stride 4 lets peaks stand 8 px apart, a third of a bond at 256 px, and a hash's wide end
# or a label's letters make such second peaks. Drawn atoms are rarely that close (76 of 8,000
# patent-heavy drawings have a pair below 0.4, mostly unbonded atoms of crowded rings), but two
# labels written as one (CbzHN) are, so other classes stay. Off unless a release sets it
# (release_model.py --atom-separation 0.4, as the shipped model does): it helps one model and
# not another (an earlier release read the held-out draws 4 better with it but uspto-300 one
# worse), so a model must be measured with and without it (CHANGELOG.md).
ATOM_SEPARATION = 0.0


@dataclass
class GraphNetConfig:
    """The graph recogniser's network.

    Args:
        num_atom_classes: atom classifier classes (``len(molgraph.ATOM_SYMBOLS)``).
        num_charges: charge classifier classes (``len(molgraph.CHARGES)``).
        num_bond_classes: classes of an ordered atom pair, class 0 = no bond
            (``len(molgraph.PAIR_CLASSES)``).
        reversed_bond_classes: for each pair class of (i, j), the class of (j, i)
            (``[molgraph.reversed_pair_class(c) for c in range(num_bond_classes)]``); None
            when every class reads the same both ways.
        encoder: the ResNet trunk and its weights.
        neck: how the trunk's stride 4-32 stages become one stride-4 map: ``fpn`` (1x1
            laterals added top-down, one 3x3 conv at the end) or ``unet`` (upsample, concatenate,
            3x3 conv at every level). Neck and heads add 19% (fpn) or 39% (unet) to resnet18's
            forward FLOPs at 96 channels, 9% or 19% to resnet34's; on toy drawings both learned
            equally fast, so fpn is the default.
        head_channels: channels F of the stride-4 feature map the heads read.
        offsets: predict each atom's position inside its stride-4 cell; off, atoms decode at
            cell centres (up to 2.8 px off).
        bond_samples: feature samples between a pair's two atoms (the atoms' own cells are
            sampled too).
        bond_channels: per-sample projection of the features before the bond MLP.
        bond_hidden: hidden size of the bond MLP.
        max_bond_length: candidate pairs are atoms at most this many median nearest-neighbour
            distances apart (``MAX_BOND_LENGTH``).
        heatmap_sigma: the Gaussian's standard deviation around each atom, in stride-4 cells.
    """

    num_atom_classes: int
    num_charges: int
    num_bond_classes: int
    reversed_bond_classes: list[int] | None = None
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(name="resnet34"))
    neck: Literal["fpn", "unet"] = "fpn"
    head_channels: int = 96
    offsets: bool = True
    bond_samples: int = 12
    bond_channels: int = 32
    bond_hidden: int = 256
    max_bond_length: float = MAX_BOND_LENGTH
    heatmap_sigma: float = 1.0


# ---- network ---------------------------------------------------------------------------------


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class FPNNeck(nn.Module):
    """Feature pyramid top-down path: 1x1 laterals, nearest upsampling, sums; a 3x3 conv last."""

    def __init__(self, in_channels: Sequence[int], channels: int) -> None:
        super().__init__()
        self.laterals = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.smooth = conv_bn_relu(channels, channels, 3)

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        """Stages at strides 4..32 → (B, F, S/4, S/4)."""
        x = self.laterals[-1](stages[-1])
        for stage, lateral in zip(stages[-2::-1], self.laterals[-2::-1], strict=True):
            x = lateral(stage) + F.interpolate(x, size=stage.shape[-2:], mode="nearest")
        return self.smooth(x)


class UNetNeck(nn.Module):
    """U-Net decoder: bilinear upsampling, concatenation with the stage, a 3x3 conv per level."""

    def __init__(self, in_channels: Sequence[int], channels: int) -> None:
        super().__init__()
        self.top = conv_bn_relu(in_channels[-1], channels, 1)
        # Ordered from stride 16 down to stride 4, the order forward visits them.
        self.blocks = nn.ModuleList(
            conv_bn_relu(channels + c, channels, 3) for c in in_channels[-2::-1]
        )

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        """Stages at strides 4..32 → (B, F, S/4, S/4)."""
        x = self.top(stages[-1])
        for stage, block in zip(stages[-2::-1], self.blocks, strict=True):
            x = F.interpolate(x, size=stage.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, stage], dim=1))
        return x


class GraphRecognizer(nn.Module):
    """Images → dense atom maps, and atom pairs → bond class logits.

    Images are (B, 1, S, S) float, ink = 1, background = 0, S a multiple of 32. Decoding
    (``decode_atoms``, ``decode_graph``) wants ``eval()`` first, for batch-norm statistics.
    """

    def __init__(self, config: GraphNetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ResNetEncoder(config.encoder)
        top = self.encoder.out_channels
        stage_channels = [top // 8, top // 4, top // 2, top]
        neck = {"fpn": FPNNeck, "unet": UNetNeck}[config.neck]
        self.neck = neck(stage_channels, config.head_channels)
        # 1x1 heads on a shared map: the neck's last 3x3 conv is the spatial context they share,
        # and 3x3 heads at stride 4 would cost as much as the whole resnet18 trunk.
        channels = config.head_channels
        self.heatmap_head = nn.Conv2d(channels, 1, 1)
        nn.init.constant_(self.heatmap_head.bias, HEATMAP_PRIOR_BIAS)
        self.atom_head = nn.Conv2d(channels, config.num_atom_classes, 1)
        self.charge_head = nn.Conv2d(channels, config.num_charges, 1)
        self.offset_head = nn.Conv2d(channels, 2, 1) if config.offsets else None
        self.bond_point = nn.Linear(channels, config.bond_channels)
        points = config.bond_samples + 2
        self.bond_mlp = nn.Sequential(
            nn.Linear(points * config.bond_channels, config.bond_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.bond_hidden, config.num_bond_classes),
        )
        self.register_buffer(
            "reversed_bond_classes",
            reversal_permutation(config.num_bond_classes, config.reversed_bond_classes),
            persistent=False,
        )

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 1, S, S) images → dense maps at stride 4.

        Returns:
            ``heatmap_logits`` (B, 1, H, W), ``atom_logits`` (B, A, H, W), ``charge_logits``
            (B, Q, H, W), ``features`` (B, F, H, W) for ``bond_logits``, and with
            ``config.offsets`` ``offsets`` (B, 2, H, W): (x, y) inside the cell, in [0, 1].
        """
        features = self.neck(self.encoder.stages(images))
        outputs = {
            "heatmap_logits": self.heatmap_head(features),
            "atom_logits": self.atom_head(features),
            "charge_logits": self.charge_head(features),
            "features": features,
        }
        if self.offset_head is not None:
            outputs["offsets"] = torch.sigmoid(self.offset_head(features))
        return outputs

    def bond_logits(self, features: torch.Tensor, pairs_xy: torch.Tensor) -> torch.Tensor:
        """(B, F, H, W) features and (N, 5) pairs (batch index, x1, y1, x2, y2) → (N, C).

        Coordinates are input pixels. The T samples keep their order from atom 1 to atom 2, so
        (i, j) and (j, i) read differently and a wedge's direction is learnable.
        """
        sampled = sample_segments(features, pairs_xy, self.config.bond_samples)  # (N, T, F)
        return self.bond_mlp(F.relu(self.bond_point(sampled)).flatten(1))


def reversal_permutation(num_classes: int, reversed_classes: Sequence[int] | None) -> torch.Tensor:
    """(C,) int64: the class of (j, i) for each class of (i, j); checked to be an involution."""
    if reversed_classes is None:
        return torch.arange(num_classes)
    permutation = torch.as_tensor(list(reversed_classes), dtype=torch.long)
    if permutation.shape != (num_classes,) or not torch.equal(
        permutation[permutation], torch.arange(num_classes)
    ):
        raise ValueError(
            f"reversed_bond_classes must map each of {num_classes} classes to its reverse "
            f"(reversing twice is the identity), got {list(reversed_classes)}"
        )
    return permutation


# ---- sampling along segments -----------------------------------------------------------------


def segment_points(pairs_xy: torch.Tensor, samples: int) -> torch.Tensor:
    """(N, 5) pairs → (N, samples + 2, 2) evenly spaced points from (x1, y1) to (x2, y2)."""
    t = torch.linspace(0.0, 1.0, samples + 2, device=pairs_xy.device, dtype=pairs_xy.dtype)
    start, end = pairs_xy[:, None, 1:3], pairs_xy[:, None, 3:5]  # (N, 1, 2) each
    return start + t[None, :, None] * (end - start)


def sample_points(
    features: torch.Tensor, batch: torch.Tensor, points: torch.Tensor, stride: int = STRIDE
) -> torch.Tensor:
    """Bilinear samples of (B, F, H, W) features at (N, T, 2) input-pixel points → (N, T, F).

    ``batch`` (N,) says which image each row of points is in. One ``grid_sample`` call serves
    all images: each image's rows are packed into a (B, max rows, T) grid. Points off the map
    read its border.
    """
    count, length = points.shape[:2]
    if count == 0:
        return features.new_zeros(0, length, features.size(1))
    size, height, width = features.size(0), features.size(2), features.size(3)
    # Input pixel x lies at x / stride on the map, whose normalised extent [-1, 1] is [0, W].
    scale = points.new_tensor([2.0 / (stride * width), 2.0 / (stride * height)])
    normalised = points * scale - 1.0  # (N, T, 2)
    batch = batch.long()
    counts = torch.bincount(batch, minlength=size)
    order = torch.argsort(batch, stable=True)
    first = torch.cumsum(counts, 0) - counts  # (B,) row of each image's first pair in `order`
    rank = torch.empty_like(batch)
    rank[order] = torch.arange(count, device=batch.device) - first[batch[order]]
    grid = normalised.new_zeros(size, int(counts.max()), length, 2)
    grid[batch, rank] = normalised.to(grid.dtype)
    sampled = F.grid_sample(
        features, grid.to(features.dtype), padding_mode="border", align_corners=False
    )  # (B, F, max rows, T)
    return sampled.permute(0, 2, 3, 1)[batch, rank]


def sample_segments(features: torch.Tensor, pairs_xy: torch.Tensor, samples: int) -> torch.Tensor:
    """(B, F, H, W) features along (N, 5) pairs' segments → (N, samples + 2, F), atom 1 first."""
    return sample_points(features, pairs_xy[:, 0], segment_points(pairs_xy, samples))


# ---- cells and atom pairs ------------------------------------------------------------------


def gather_cells(maps: torch.Tensor, batch: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) maps at (K,) images' (K, 2) (column, row) cells → (K, C)."""
    return maps[batch, :, cells[:, 1], cells[:, 0]]


def candidate_pairs(points: torch.Tensor, max_distance: float) -> torch.Tensor:
    """(K, 2) points → (M, 2) int64 index pairs i < j at most ``max_distance`` apart."""
    count = points.size(0)
    if count < 2:
        return torch.zeros(0, 2, dtype=torch.long, device=points.device)
    first, second = torch.triu_indices(count, count, offset=1, device=points.device)
    distance = (points[first] - points[second]).norm(dim=1)  # (K(K-1)/2,)
    keep = distance <= max_distance
    return torch.stack([first[keep], second[keep]], dim=1)


def neighbour_distances(points: torch.Tensor) -> torch.Tensor:
    """(K, K) float64 distances between (K, 2) points, infinite on the diagonal."""
    distance = torch.cdist(points[None].double(), points[None].double())[0]
    return distance.fill_diagonal_(float("inf"))


def bond_radius(points: torch.Tensor, factor: float) -> float:
    """``factor`` times the median nearest-neighbour distance of (K, 2) points (0 if K < 2)."""
    if points.size(0) < 2:
        return 0.0
    return factor * float(neighbour_distances(points).amin(dim=1).median())


# ---- decoding --------------------------------------------------------------------------------


class DecodedAtoms(NamedTuple):
    """One image's atoms, most confident first: (K, 2) float xy in input pixels, (K,) int64
    classes and charges, (K,) float heatmap probabilities."""

    xy: torch.Tensor
    classes: torch.Tensor
    charges: torch.Tensor
    scores: torch.Tensor


class DecodedBonds(NamedTuple):
    """One image's bonds: (E, 2) int64 atom indices i < j, (E,) int64 pair classes read from
    atom i to atom j (never 0), (E,) float probabilities of those classes."""

    pairs: torch.Tensor
    classes: torch.Tensor
    scores: torch.Tensor


class DecodedGraph(NamedTuple):
    atoms: DecodedAtoms
    bonds: DecodedBonds


def decode_atoms(
    outputs: dict[str, torch.Tensor], threshold: float = ATOM_THRESHOLD, max_atoms: int = 128
) -> list[DecodedAtoms]:
    """Heatmap peaks → per image atoms: local maxima (3x3) above ``threshold``, at most
    ``max_atoms``; class and charge are the argmax at the peak's cell."""
    heat = torch.sigmoid(outputs["heatmap_logits"].float())  # (B, 1, H, W)
    peaks = (heat == F.max_pool2d(heat, 3, stride=1, padding=1)) & (heat > threshold)
    width = heat.size(3)
    scores = torch.where(peaks, heat, torch.zeros_like(heat)).flatten(1)  # (B, H*W)
    top, index = scores.topk(min(max_atoms, scores.size(1)), dim=1)  # (B, k) each
    decoded = []
    for image in range(heat.size(0)):
        keep = top[image] > threshold
        flat = index[image][keep]
        cells = torch.stack([flat % width, flat // width], dim=1)  # (K, 2) column, row
        batch = torch.full_like(flat, image)
        if "offsets" in outputs:
            inside = gather_cells(outputs["offsets"].float(), batch, cells)
        else:
            inside = torch.full(cells.shape, 0.5, device=cells.device)
        decoded.append(
            DecodedAtoms(
                xy=(cells + inside) * STRIDE,
                classes=gather_cells(outputs["atom_logits"], batch, cells).argmax(1),
                charges=gather_cells(outputs["charge_logits"], batch, cells).argmax(1),
                scores=top[image][keep],
            )
        )
    return decoded


def separate_atoms(
    atoms: DecodedAtoms, separation: float, plain_class: int | None = None
) -> DecodedAtoms:
    """``atoms`` without the peaks that repeat a more confident one kept before it: closer
    than ``separation`` median nearest-neighbour distances, and of its class or of
    ``plain_class`` (the caller's carbon). Greedy, most confident first; 0: all kept. Two
    different labels may stand that close (the N and Cbz of a written CbzHN): both stay."""
    if separation <= 0 or len(atoms.xy) < 3:
        return atoms
    distance = neighbour_distances(atoms.xy)
    too_close = distance < separation * float(distance.amin(dim=1).median())
    alike = atoms.classes[:, None] == atoms.classes[None, :]  # (weaker, kept)
    if plain_class is not None:
        alike |= (atoms.classes == plain_class)[:, None]
    repeats = too_close & alike
    kept: list[int] = []
    for atom in range(len(atoms.xy)):  # decode_atoms lists the most confident first
        if not repeats[atom, kept].any():
            kept.append(atom)
    index = torch.tensor(kept, dtype=torch.long, device=atoms.xy.device)
    return DecodedAtoms(*(field[index] for field in atoms))


def pair_probabilities(
    model: GraphRecognizer,
    features: torch.Tensor,
    points: Sequence[torch.Tensor],
    pairs: Sequence[torch.Tensor],
) -> torch.Tensor:
    """(M, C) class probabilities of every image's (i, j) pairs, in (i → j) terms, both ways
    read and averaged, image after image: ``points[b]`` (K, 2) and ``pairs[b]`` (P, 2) belong
    to image b of the (B, F, H, W) ``features``."""
    forward, backward = [], []
    for image, (image_points, image_pairs) in enumerate(zip(points, pairs, strict=True)):
        batch = torch.full((len(image_pairs), 1), float(image), device=features.device)
        start, end = image_points[image_pairs[:, 0]], image_points[image_pairs[:, 1]]
        forward.append(torch.cat([batch, start, end], dim=1))
        backward.append(torch.cat([batch, end, start], dim=1))
    count = sum(len(p) for p in pairs)
    probability = torch.softmax(
        model.bond_logits(features, torch.cat(forward + backward)).float(), dim=1
    )  # (2M, C)
    return (probability[:count] + probability[count:][:, model.reversed_bond_classes]) / 2


@dataclass(frozen=True)
class DecodeSettings:
    """How a reader turns the network's maps into atoms and bonds.

    Args:
        threshold: heatmap probability above which a peak is an atom (``ATOM_THRESHOLD``).
        max_atoms: the most atoms an image may hold; the most confident are kept.
        max_bond_length: candidate pairs are atoms at most this many median nearest-neighbour
            distances apart; None: the model's own (``GraphNetConfig.max_bond_length``).
        separation: a peak closer than this many median nearest-neighbour distances to a more
            confident one is dropped when it repeats it (``separate_atoms``; 0: all kept).
        plain_class: the class dropped beside a peak of any class (the caller's carbon).
    """

    threshold: float = ATOM_THRESHOLD
    max_atoms: int = 128
    max_bond_length: float | None = None
    separation: float = ATOM_SEPARATION
    plain_class: int | None = None


@torch.no_grad()
def decode_graph(
    model: GraphRecognizer, images: torch.Tensor, settings: DecodeSettings = DecodeSettings()
) -> list[DecodedGraph]:
    """(B, 1, S, S) images → per image atoms and bonds (class-0 pairs dropped).

    Peaks above the settings' threshold that repeat a stronger one are dropped
    (``separate_atoms``). Every candidate pair (i < j within ``max_bond_length`` median
    neighbour distances) is read both ways in one ``bond_logits`` call for the batch. The two
    readings are averaged in (i → j) terms: p = (p(i, j) + p(j, i)[reversed classes]) / 2,
    which for symmetric classes is their plain average, and for a directional class lets the
    more confident reading decide the direction. The bond is p's argmax.
    """
    return graphs_from_outputs(model, model(images), settings)


def graphs_from_outputs(
    model: GraphRecognizer,
    outputs: dict[str, torch.Tensor],
    settings: DecodeSettings = DecodeSettings(),
) -> list[DecodedGraph]:
    """``decode_graph`` of maps ``model`` has computed already (its ``forward``'s outputs)."""
    atoms = [
        separate_atoms(a, settings.separation, settings.plain_class)
        for a in decode_atoms(outputs, settings.threshold, settings.max_atoms)
    ]
    factor = settings.max_bond_length
    if factor is None:
        factor = model.config.max_bond_length
    pairs = [candidate_pairs(a.xy, bond_radius(a.xy, factor)) for a in atoms]
    combined = pair_probabilities(model, outputs["features"], [a.xy for a in atoms], pairs)
    scores, classes = combined.max(dim=1)  # (M,) each
    graphs, first = [], 0
    for image_atoms, image_pairs in zip(atoms, pairs, strict=True):
        last = first + len(image_pairs)
        bonded = classes[first:last] != 0
        bonds = DecodedBonds(
            image_pairs[bonded], classes[first:last][bonded], scores[first:last][bonded]
        )
        graphs.append(DecodedGraph(image_atoms, bonds))
        first = last
    return graphs
