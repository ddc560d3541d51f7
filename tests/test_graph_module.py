"""The graph recogniser under Lightning: annotated batches, augmentation that keeps atoms on
ink, atom/bond matching, and a real learning test that ends in exact InChIs."""

from __future__ import annotations

import dataclasses

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import GraphAtom
from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.graph import MAX_BOND_LENGTH, DecodeSettings
from inchi_lightning.reading.graph_reader import CARBON_CLASS
from inchi_lightning.shards import ShardSet, write_shard
from inchi_lightning.training.graph_data import (
    GraphDataset,
    collate_graphs,
    keypoint_augmentation,
)
from inchi_lightning.training.graph_module import GraphModule
from tests.ink import darkest_near

SIZE = 128
STEPS = 150  # optimiser steps of the learning test (batches of all four drawings)
# Small molecules without stereo or text groups: what a tiny model learns in seconds.
SMILES = ["CCO", "c1ccccc1O", "CC(=O)N", "C1CCNCC1"]


@pytest.fixture(scope="module")
def annotated_shards(tmp_path_factory):
    """The four molecules drawn by synth (annotations included) and preprocessed at 128 px."""
    from inchi_lightning.prep.preprocess import preprocess
    from inchi_lightning.prep.synth import synthesise

    root = tmp_path_factory.mktemp("graph")
    (root / "molecules.smi").write_text("\n".join(SMILES) + "\n")
    # Patent style: light damage only, so that no stroke end (an atom) is erased.
    synthesise(
        root / "raw", n=4, seed=3, smiles_file=root / "molecules.smi", num_workers=0,
        patent_fraction=1.0,
    )  # fmt: skip
    preprocess(
        root / "raw",
        root / "shards",
        clean_params=CleanParams(image_size=SIZE),
        val_fraction=0.0,
        progress=False,
        processes=True,
        num_cpus=1,
    )
    return root / "shards"


def test_unannotated_samples_are_left_out_and_a_set_without_any_refused(tmp_path):
    write_shard(tmp_path, 0, np.full((1, 8, 8), 255, np.uint8), ["a"], ["InChI=1S/CH4/h1H4"])
    with pytest.raises(ValueError, match="none of its 1 samples has an atom annotation"):
        GraphDataset(ShardSet(tmp_path))
    graph = {"atoms": [[4.0, 4.0, "C"]], "bonds": []}
    write_shard(tmp_path / "some", 0, np.full((2, 8, 8), 255, np.uint8), ["a", "b"],
                ["InChI=1S/CH4/h1H4"] * 2, graphs=[None, graph])  # fmt: skip
    dataset = GraphDataset(ShardSet(tmp_path / "some"))
    assert len(dataset) == 1 and dataset[0]["image_id"] == "b"


def on_ink(image: np.ndarray, atom: GraphAtom, label_radius: float) -> bool:
    """A dark pixel within 3 px of a bare carbon, or within ``label_radius`` of a text atom
    (the centre of a large "O" is its hole)."""
    radius = 3 if atom.symbol == "C" else max(3, round(label_radius))
    return darkest_near(image, atom.x, atom.y, radius) < 200


def test_augmented_atoms_stay_on_the_ink_they_were_drawn_on(annotated_shards):
    shards = ShardSet(annotated_shards / "train")
    dataset = GraphDataset(shards, keypoint_augmentation())
    moved = 0
    for _ in range(6):
        for index in range(len(dataset)):
            sample = dataset[index]
            image, graph = sample["image"].numpy(), sample["graph"]
            moved += not np.array_equal(image, shards[index][0])
            for atom in graph.atoms:
                assert on_ink(image, atom, label_radius=0.3 * graph.bond_length), atom
    assert moved > 0  # the augmentation did move pixels (and the points with them)


def fitted(model: GraphModule, loader: DataLoader, steps: int = 1, **fit) -> L.Trainer:
    """The trainer that fitted ``model`` for ``steps`` steps, quietly on the CPU."""
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader, **fit)
    return trainer


def test_a_tiny_graph_model_learns_four_drawings_to_their_exact_inchi(annotated_shards, tmp_path):
    dataset = GraphDataset(ShardSet(annotated_shards / "train"))
    loader = DataLoader(dataset, batch_size=4, shuffle=True, collate_fn=collate_graphs)
    L.seed_everything(0)
    model = GraphModule(
        clean_params=CleanParams(image_size=SIZE),
        encoder=EncoderConfig(name="resnet18", weights="none"),
        head_channels=32,
        lr=3e-3,
        warmup_steps=10,
    )
    trainer = fitted(model, loader, steps=STEPS)
    batch = collate_graphs([dataset[i] for i in range(len(dataset))])
    model.eval()
    readings = [molecule_from_graph(graph) for graph in model.read(batch["images"])]
    assert [r.inchi for r in readings] == batch["inchis"]
    assert all(r.confidence > 0.5 for r in readings)
    # The checkpoint carries plain types only: it loads with weights_only and reads the same.
    trainer.save_checkpoint(tmp_path / "graph.ckpt")
    loaded = GraphModule.load_from_checkpoint(tmp_path / "graph.ckpt", weights_only=True)
    loaded.eval()
    again = [molecule_from_graph(g).inchi for g in loaded.read(batch["images"])]
    assert again == batch["inchis"]


def test_a_reader_reads_bonds_out_to_max_bond_length_and_trains_on_the_same_radius() -> None:
    assert GraphModule().net.config.max_bond_length == MAX_BOND_LENGTH
    model = GraphModule(max_bond_length=3.0)
    assert model.net.config.max_bond_length == model.loss.net.max_bond_length == 3.0


def test_a_reader_decodes_with_its_release_settings() -> None:
    model = GraphModule(threshold=0.35, atom_separation=0.4)
    assert model.decode_settings == DecodeSettings(
        threshold=0.35, separation=0.4, plain_class=CARBON_CLASS
    )
    assert GraphModule().decode_settings == DecodeSettings(plain_class=CARBON_CLASS)


def four_drawings(shards) -> DataLoader:
    """The annotated drawings as one batch of four, unaugmented."""
    dataset = GraphDataset(ShardSet(shards / "train"))
    return DataLoader(dataset, batch_size=4, collate_fn=collate_graphs)


def weights(model: GraphModule) -> dict[str, torch.Tensor]:
    # Parameters only: batch norm's running statistics move with every training batch.
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_a_fit_starts_from_init_weights_unless_it_resumes_its_own(annotated_shards, tmp_path):
    loader = four_drawings(annotated_shards)

    def reader(seed: int, **settings) -> GraphModule:
        L.seed_everything(seed)
        settings = {"head_channels": 16, "lr": 0.0, "warmup_steps": 0} | settings
        encoder = EncoderConfig(name="resnet18", weights="none")
        return GraphModule(clean_params=CleanParams(image_size=SIZE), encoder=encoder, **settings)

    source = reader(1)
    fitted(source, loader).save_checkpoint(tmp_path / "source.ckpt")
    started = reader(2, init_weights=str(tmp_path / "source.ckpt"))
    assert not torch.equal(started.net.atom_head.weight, source.net.atom_head.weight)
    fitted(started, loader)  # lr 0: what it holds after the step is what it started from
    expected = weights(source)
    assert all(torch.equal(w, expected[n]) for n, w in weights(started).items())

    own = reader(3)
    fitted(own, loader).save_checkpoint(tmp_path / "own.ckpt")
    resumed = reader(4, init_weights=str(tmp_path / "source.ckpt"))
    fitted(resumed, loader, steps=2, ckpt_path=tmp_path / "own.ckpt")
    expected = weights(own)
    assert all(torch.equal(w, expected[n]) for n, w in weights(resumed).items())

    wider = reader(5, head_channels=32, init_weights=str(tmp_path / "source.ckpt"))
    with pytest.raises(ValueError, match="do not fit this network"):
        fitted(wider, loader)


def test_init_weights_shipped_starts_from_the_model_that_ships(annotated_shards):
    from inchi_lightning.reading.checkpoint import check_checkpoint
    from inchi_lightning.reading.loading import load_image_reader
    from inchi_lightning.shipped import SHIPPED_MODEL

    shipped = load_image_reader(SHIPPED_MODEL)
    hp = check_checkpoint(SHIPPED_MODEL)
    model = GraphModule(
        clean_params=shipped.clean_params,
        encoder=dataclasses.replace(shipped.net.config.encoder, weights="none"),
        neck=hp["neck"],
        head_channels=hp["head_channels"],
        lr=0.0,
        warmup_steps=0,
        init_weights="shipped",
    )
    loader = four_drawings(annotated_shards)
    fitted(model, loader)
    assert torch.equal(model.net.atom_head.weight, shipped.net.atom_head.weight.float())
    # Charges appended since a model shipped are padded on load, as group labels are.
    assert torch.equal(model.net.charge_head.weight, shipped.net.charge_head.weight.float())
