"""``GraphModule``: wires the graph recogniser to its losses, molecule-level metrics and logging.

Training supervises every located atom and bond of a drawing (``GraphLoss``); validation reads
whole molecules: decoded atoms and bonds become a ``MolGraph``, RDKit turns it into a standard
InChI (``molecule.molecule_from_graph``), and the InChI is scored like the captioner's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import MolGraph
from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.encoder import EncoderConfig, ink
from inchi_lightning.network.graph import (
    ATOM_SEPARATION,
    ATOM_THRESHOLD,
    MAX_BOND_LENGTH,
    DecodeSettings,
)
from inchi_lightning.network.graph_loss import GraphLoss, GraphLossConfig
from inchi_lightning.reading.appended_classes import grow_appended_classes
from inchi_lightning.reading.checkpoint import as_dataclass, check_checkpoint
from inchi_lightning.reading.graph_reader import decode_settings, read_graphs
from inchi_lightning.reading.loading import graph_network
from inchi_lightning.shipped import SHIPPED_KEYWORD, require_shipped_model
from inchi_lightning.training.base_module import TrainingRate, stepped
from inchi_lightning.training.checkpoints import plain_hyperparameters
from inchi_lightning.training.graph_data import GraphDataset, shards_bond_length
from inchi_lightning.training.graph_matching import matched_counts
from inchi_lightning.training.metrics import ExactMatch, LevenshteinDistance
from inchi_lightning.training.overlay import draw_graph

# Classifiers whose class lists grow at their end (molgraph): older weights are padded on load.
APPENDED_CLASS_LAYERS = ("net.atom_head", "net.charge_head")


class GraphModule(TrainingRate):
    """The graph recogniser trained on drawings' own atoms and bonds; reads whole molecules.

    Args:
        clean_params: how images were cleaned in preprocessing; predict cleans the same way.
        encoder: the ResNet trunk and its weights.
        neck: ``fpn`` or ``unet`` (see ``GraphNetConfig``).
        head_channels: channels of the stride-4 feature map.
        max_bond_length: how far apart two atoms may be and still be read as a bond, in median
            nearest-neighbour distances (``MAX_BOND_LENGTH``); training's unbonded pairs come
            from the same radius. A checkpoint that does not record it (the shipped model's
            recipe trained at 2.0) reads at this default.
        loss: loss weights and the bond classifier's training pairs.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up steps before the cosine decay.
        threshold: heatmap probability above which a peak is an atom (``ATOM_THRESHOLD``).
        atom_separation: peaks closer than this many median nearest-neighbour distances to a
            stronger one of their class (a carbon's: to any) are the same atom read twice, and
            dropped (``ATOM_SEPARATION``; 0: all kept).
        num_logged_samples: validation images shown in TensorBoard each validation, with the
            atoms and bonds read drawn over them, and their InChIs against the truth.
        target_bond_length: the training drawings' median bond length in pixels of
            ``clean_params.image_size`` (``shards_bond_length``; a fit fills it in). A reader
            (``reading.graph_reader``) reads an image at the trained size first and, where
            that reading is unsure, again at the sides around the one that brings its bonds
            to this length, and those readings vote: real drawings of large molecules come
            out smaller than any training drawing. 0: one size only.
        init_weights: a checkpoint of this project whose weights a new fit starts from instead
            of the encoder's (``shipped``: the model that ships with the package; any fit's or
            release's file). Only the weights: optimiser, schedule and step count start afresh,
            so ``lr`` and ``max_steps`` set the fine-tuning's schedule. A fit resumed with
            ``--ckpt_path`` loads its own weights instead, and reading never looks at it.
    """

    def __init__(
        self,
        clean_params: CleanParams | None = None,
        encoder: EncoderConfig | None = None,
        neck: str = "fpn",
        head_channels: int = 96,
        max_bond_length: float = MAX_BOND_LENGTH,
        loss: GraphLossConfig | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 100,
        threshold: float = ATOM_THRESHOLD,
        atom_separation: float = ATOM_SEPARATION,
        num_logged_samples: int = 8,
        target_bond_length: float = 0.0,
        init_weights: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.clean_params = as_dataclass(CleanParams, clean_params) or CleanParams()
        self.net = graph_network(self.hparams, encoder_weights=True)
        self.loss = GraphLoss(self.net.config, as_dataclass(GraphLossConfig, loss))
        self.val_levenshtein, self.test_levenshtein = LevenshteinDistance(), LevenshteinDistance()
        self.val_exact_match, self.test_exact_match = ExactMatch(), ExactMatch()
        self._counts: dict[str, int] = {}
        self._logged: list[tuple[str, str, str, torch.Tensor, MolGraph]] = []

    def transfer_batch_to_device(self, batch: Any, device: torch.device, index: int) -> Any:
        # Only tensors travel; annotations (frozen MolGraphs) stay on the host, where RDKit
        # and the metrics read them, and Lightning's walk over the batch would refuse them.
        moved = {**batch, "images": batch["images"].to(device)}
        if "targets" in batch:
            moved["targets"] = batch["targets"].to(device)
        return moved

    # ---- training ---------------------------------------------------------------------------

    def _losses(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        outputs = self.net(ink(batch["images"]))
        return self.loss(self.net, outputs, batch["targets"])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        losses = self._losses(batch)
        size = len(batch["image_ids"])
        for name, value in losses.items():
            self.log(f"train/{name}", value, prog_bar=name == "total", batch_size=size)
        return losses["total"]

    # ---- reading molecules ------------------------------------------------------------------

    def read(self, images: torch.Tensor) -> list[MolGraph]:
        """The graph each (B, 1, S, S) uint8 image draws, in its pixels."""
        return read_graphs(self.net, images, self.decode_settings)

    @property
    def decode_settings(self) -> DecodeSettings:
        """How this model's maps become atoms and bonds: its release's settings."""
        return decode_settings(self.hparams.threshold, self.hparams.atom_separation)

    def _evaluate(self, batch: dict[str, Any], stage: str) -> None:
        size = len(batch["image_ids"])
        for name, value in self._losses(batch).items():
            self.log(f"{stage}/loss_{name}", value, batch_size=size, sync_dist=True)
        graphs = self.read(batch["images"])
        predictions = [molecule_from_graph(g).inchi for g in graphs]
        if stage == "val" and not self._logged:
            n = self.hparams.num_logged_samples
            shown = (
                batch["image_ids"],
                batch["inchis"],
                predictions,
                batch["images"][:, 0],
                graphs,
            )
            self._logged = list(zip(*(part[:n] for part in shown), strict=True))
        for graph, truth in zip(graphs, batch["graphs"], strict=True):
            for key, value in matched_counts(graph, truth).items():
                self._counts[key] = self._counts.get(key, 0) + value
        for metric in ("levenshtein", "exact_match"):
            tracker = getattr(self, f"{stage}_{metric}")
            tracker.update(predictions, batch["inchis"])
            self.log(f"{stage}/{metric}", tracker, prog_bar=True, batch_size=size)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self._log_counts("val")
        self._log_samples()

    def _log_samples(self) -> None:
        """The first validation images with what was read drawn over them, and a table of
        InChIs read against the truth, for TensorBoard."""
        from lightning.pytorch.loggers import TensorBoardLogger

        logged, self._logged = self._logged, []
        if (
            not isinstance(self.logger, TensorBoardLogger)
            or not logged
            or self.trainer.sanity_checking
        ):
            return
        rows = ["| image_id | truth | read |", "| --- | --- | --- |"]
        rows += [f"| {i} | `{t}` | `{p}` |" for i, t, p, _, _ in logged]
        overlays = np.stack([draw_graph(image.cpu().numpy(), graph) for *_, image, graph in logged])
        experiment = self.logger.experiment
        experiment.add_text("val/samples", "\n".join(rows), self.global_step)
        experiment.add_images("val/graphs", overlays, self.global_step, dataformats="NHWC")

    def on_test_epoch_end(self) -> None:
        self._log_counts("test")

    def _log_counts(self, stage: str) -> None:
        c, self._counts = self._counts, {}
        if not c:
            return
        for part in ("atom", "bond"):
            self.log(f"{stage}/{part}_precision", c[f"{part}_tp"] / max(c[f"{part}_pred"], 1))
            self.log(f"{stage}/{part}_recall", c[f"{part}_tp"] / max(c[f"{part}_true"], 1))

    # ---- optimisation -----------------------------------------------------------------------

    def on_fit_start(self) -> None:
        # Here, after Lightning has restored a --ckpt_path, and only where it has not.
        if self.hparams.get("init_weights") and self.trainer.ckpt_path is None:
            self._load_initial_weights(self.hparams.init_weights)
        # The scale real drawings are read at follows the drawings this model learns from.
        train = getattr(self.trainer.datamodule, "datasets", {}).get("train")
        if not self.hparams.target_bond_length and isinstance(train, GraphDataset):
            self.hparams.target_bond_length = shards_bond_length(train.shards)

    def _load_initial_weights(self, source: str) -> None:
        path = require_shipped_model() if source == SHIPPED_KEYWORD else source
        check_checkpoint(path)
        weights = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        checkpoint = {"state_dict": weights}  # the shape grow_appended_classes pads
        grow_appended_classes(checkpoint, self, APPENDED_CLASS_LAYERS)
        try:
            # In place: the optimiser already holds these parameters. fp16 weights come back
            # in the parameters' own dtype.
            self.load_state_dict(checkpoint["state_dict"])
        except RuntimeError as exc:
            detail = str(exc).strip().splitlines()[-1].strip()  # one of the mismatches it names
            raise ValueError(
                f"init_weights {path}: its weights do not fit this network ({detail})"
            ) from exc

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        return stepped(optimizer, "cosine", hp.warmup_steps, self.trainer)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        plain_hyperparameters(checkpoint, self)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # A checkpoint from before group labels or charges were appended (molgraph) still
        # loads, and reads as it did; a fit resumed from it learns the new classes.
        grow_appended_classes(checkpoint, self, APPENDED_CLASS_LAYERS)
