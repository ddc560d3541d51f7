"""Batches for the graph recogniser: shard images with their annotations as tensors.

A sample's annotation (``MolGraph``, in the shard image's pixels) travels with its image
through augmentation: albumentations moves the atom points with the pixels, so a turned or
shifted drawing keeps atoms on their ink. An augmentation that would push an atom off the
canvas is not used for that sample (its plain image is), so no atom is ever lost.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from inchi_lightning.chemistry.molgraph import MolGraph, pair_class
from inchi_lightning.network.graph_loss import GraphTargets
from inchi_lightning.shards import ShardSet
from inchi_lightning.training.data import InChIDataModule, ShardImages

log = logging.getLogger(__name__)


def keypoint_augmentation() -> Any:
    """Scan-like variation that keeps geometry readable: quarter turns, small rotations,
    scale and shift with white fill; atom points follow the pixels."""
    import albumentations as A
    import cv2

    return A.Compose(
        [
            A.RandomRotate90(p=0.25),
            A.Affine(
                scale=(0.85, 1.05),
                translate_percent=(-0.04, 0.04),
                rotate=(-8, 8),
                fill=255,
                border_mode=cv2.BORDER_CONSTANT,
                p=0.7,
            ),
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )


class GraphDataset(ShardImages):
    """Annotated shard samples: image, image id, InChI and ``graph`` (a ``MolGraph``).

    Samples without an annotation (a molecule the graph cannot hold, such as a radical or a
    charge of 2: ``annotations`` says why) are left out, with a warning.

    Raises:
        ValueError: no sample has an annotation (a set drawn before annotations, or a real set
            such as uspto-300: those train the captioner and evaluate both models).
    """

    def __init__(self, shards: ShardSet, transform: Any = None):
        super().__init__(shards, transform=None)
        self.keypoint_transform = transform
        self.indices = [i for i in range(len(shards)) if shards.has_graph(i)]
        if not self.indices and len(shards):
            raise ValueError(
                f"{shards.split_dir}: none of its {len(shards)} samples has an atom annotation; "
                "draw the set with this version's synth"
            )
        if len(self.indices) < len(shards):
            log.warning(
                "%s: %d of %d samples have no annotation and are left out",
                shards.split_dir, len(shards) - len(self.indices), len(shards),
            )  # fmt: skip

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self.indices[index]
        sample = super().__getitem__(index)
        graph = MolGraph.from_dict(self.shards.graph(index))
        if self.keypoint_transform is not None:
            sample["image"], graph = self._augmented(sample["image"].numpy(), graph)
        return {**sample, "graph": graph}

    def _augmented(self, image: np.ndarray, graph: MolGraph) -> tuple[torch.Tensor, MolGraph]:
        points = graph.points if len(graph.atoms) else np.zeros((0, 2))
        moved = self.keypoint_transform(image=image, keypoints=points)
        keypoints = np.asarray(moved["keypoints"], dtype=np.float64).reshape(-1, 2)
        side = image.shape[0]
        if len(keypoints) != len(points) or not np.all((keypoints >= 0) & (keypoints < side)):
            return torch.from_numpy(image), graph  # an atom would leave the canvas
        image = torch.from_numpy(np.ascontiguousarray(moved["image"]))
        return image, graph.with_points(keypoints)


def shards_bond_length(shards: ShardSet, limit: int = 2000) -> float:
    """The median of the drawings' median bond lengths, in the shards' pixels, over the first
    ``limit`` annotated samples (0 when none is annotated)."""
    lengths = []
    for index in range(len(shards)):
        if len(lengths) == limit:
            break
        if shards.has_graph(index):
            graph = MolGraph.from_dict(shards.graph(index))
            if graph.bond_length:
                lengths.append(graph.bond_length)
    return float(np.median(lengths)) if lengths else 0.0


def graph_targets(graphs: list[MolGraph]) -> GraphTargets:
    """The network's targets of a batch's annotations: centres, classes, ordered bonds."""
    points, atoms, charges, bonds = [], [], [], []
    for graph in graphs:
        points.append(torch.as_tensor(graph.points, dtype=torch.float32).reshape(-1, 2))
        atoms.append(torch.as_tensor(graph.symbol_index, dtype=torch.long))
        charges.append(torch.as_tensor(graph.charge_index, dtype=torch.long))
        rows = [(b.begin, b.end, pair_class(graph, b.begin, b.end)) for b in graph.bonds]
        bonds.append(torch.tensor(rows, dtype=torch.long).reshape(-1, 3))
    return GraphTargets(points, atoms, charges, bonds)


def collate_graphs(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """(B, 1, S, S) uint8 images, their ids and InChIs, ``graphs`` and their ``targets``."""
    graphs = [s["graph"] for s in samples]
    return {
        "images": torch.stack([s["image"] for s in samples]).unsqueeze(1),
        "image_ids": [s["image_id"] for s in samples],
        "inchis": [s["inchi"] for s in samples],
        "graphs": graphs,
        "targets": graph_targets(graphs),
    }


class GraphDataModule(InChIDataModule):
    """``InChIDataModule`` with batches for the graph recogniser: every train, val and test
    sample carries its annotation (``collate_graphs``)."""

    def split_dataset(self, shards: ShardSet, augment: bool) -> Dataset:
        return GraphDataset(shards, keypoint_augmentation() if augment else None)

    collate_split = staticmethod(collate_graphs)
