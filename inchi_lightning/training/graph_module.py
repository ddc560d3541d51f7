"""``GraphReader``: wires the graph recogniser to its losses, molecule-level metrics and logging.

Training supervises every located atom and bond of a drawing (``GraphLoss``); validation reads
whole molecules: decoded atoms and bonds become a ``MolGraph``, RDKit turns it into a standard
InChI (``graph_chem.molecule_from_graph``), and the InChI is scored like the captioner's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from inchi_lightning.graph_chem import GraphReading, molecule_from_graph
from inchi_lightning.imaging import CleanParams
from inchi_lightning.molgraph import (
    ATOM_SYMBOLS,
    CHARGES,
    PAIR_CLASSES,
    GraphAtom,
    MolGraph,
    bond_from_pair,
    reversed_pair_class,
)
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.graph import (
    ATOM_SEPARATION,
    ATOM_THRESHOLD,
    MAX_BOND_LENGTH,
    DecodedGraph,
    DecodeSettings,
    GraphNetConfig,
    GraphRecognizer,
    decode_graph,
)
from inchi_lightning.network.graph_loss import GraphLoss, GraphLossConfig
from inchi_lightning.overlay import draw_graph
from inchi_lightning.shipped import SHIPPED_KEYWORD, require_shipped_model
from inchi_lightning.training.appended_classes import grow_appended_classes
from inchi_lightning.training.checkpoints import check_checkpoint, plain_hyperparameters
from inchi_lightning.training.graph_data import GraphDataset, median_bond_length
from inchi_lightning.training.graph_matching import matched_counts
from inchi_lightning.training.metrics import ExactMatch, LevenshteinDistance
from inchi_lightning.training.module import TrainingRate, as_dataclass, ink, stepped

# The class whose repeated peaks are dropped beside an atom of any class (network.graph's
# separate_atoms): a hash's wide end and the letters of a label make carbon peaks.
CARBON_CLASS = ATOM_SYMBOLS.index("C")
# Where ``read_molecules`` may look, as shares of the trained side: 32 px apart at 192. Real
# drawings of large molecules come out smaller than any training drawing, small ones larger.
READING_SCALES = (1 / 2, 2 / 3, 5 / 6, 7 / 6, 4 / 3, 3 / 2, 5 / 3, 11 / 6, 2.0)
SCALE_VOTERS = 5  # the sides an image file is read at, around the one its bonds ask for
# Classifiers whose class lists grow at their end (molgraph): older weights are padded on load.
APPENDED_CLASS_LAYERS = ("net.atom_head", "net.charge_head")


def network_config(encoder: EncoderConfig | None, **sizes: Any) -> GraphNetConfig:
    """The network for this project's class lists (``molgraph``)."""
    return GraphNetConfig(
        num_atom_classes=len(ATOM_SYMBOLS),
        num_charges=len(CHARGES),
        num_bond_classes=len(PAIR_CLASSES),
        reversed_bond_classes=[reversed_pair_class(c) for c in range(len(PAIR_CLASSES))],
        encoder=encoder or EncoderConfig(name="resnet18"),
        **sizes,
    )


def graph_of(decoded: DecodedGraph) -> MolGraph:
    """The ``MolGraph`` a decoding says, with each part's confidence as its score."""
    atoms = decoded.atoms
    graph_atoms = [
        GraphAtom(x, y, ATOM_SYMBOLS[symbol], CHARGES[charge], score)
        for (x, y), symbol, charge, score in zip(
            atoms.xy.tolist(),
            atoms.classes.tolist(),
            atoms.charges.tolist(),
            atoms.scores.clamp(0, 1).tolist(),
            strict=True,
        )
    ]
    bonds = decoded.bonds
    graph_bonds = [
        bond_from_pair(i, j, kind, score)
        for (i, j), kind, score in zip(
            bonds.pairs.tolist(), bonds.classes.tolist(), bonds.scores.tolist(), strict=True
        )
    ]
    return MolGraph(graph_atoms, [b for b in graph_bonds if b is not None])


def voting_bond_length(graph: MolGraph) -> float:
    """``graph``'s median bond length as the scale vote reads it: 0 for a graph without bonds,
    which has no scale to tell and no say in the vote."""
    return graph.bond_length if graph.bonds else 0.0


def voting_sides(bond_length: float, target: float, sides: list[int], voters: int) -> list[int]:
    """The ``voters`` sides nearest the one that brings a median bond of ``bond_length`` px at
    ``sides[0]`` (the trained side) to ``target``, nearest first (``sides[0]`` for a graph
    without bonds: ``bond_length`` 0)."""
    wanted = sides[0] * target / bond_length if bond_length else sides[0]
    best = min(sides, key=lambda side: abs(side - wanted))
    return sorted(sides, key=lambda side: (abs(side - best), side))[:voters]


def scale_vote(
    inchis: list[str], confidences: list[float], bond_lengths: list[float], target: float
) -> str:
    """The InChI with most weight among one image's readings at several sides: each counts as
    much as its median bond comes near ``target`` (``min(b / t, t / b)``; nothing without
    bonds) times its confidence. Ties go to the first."""
    totals: dict[str, float] = {}
    for inchi, confidence, length in zip(inchis, confidences, bond_lengths, strict=True):
        weight = min(length / target, target / length) * confidence if length else 0.0
        totals[inchi] = totals.get(inchi, 0.0) + weight
    return max(totals, key=totals.__getitem__)


class GraphReader(TrainingRate):
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
            ``clean_params.image_size`` (``median_bond_length``; a fit fills it in). ``predict``
            and ``evaluate`` read an image file at the trained size first, then again at the
            sides of ``reading_sizes`` around the one that brings its bonds to this length,
            and those readings vote (``read_molecules``): real drawings of large molecules
            come out smaller than any training drawing. 0: one size only.
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
        encoder = as_dataclass(EncoderConfig, encoder)
        self.net_config = network_config(
            encoder, neck=neck, head_channels=head_channels, max_bond_length=max_bond_length
        )
        self.net = GraphRecognizer(self.net_config)
        self.loss = GraphLoss(self.net_config, as_dataclass(GraphLossConfig, loss))
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

    @torch.no_grad()
    def read(self, images: torch.Tensor) -> list[MolGraph]:
        """The graph each (B, 1, S, S) uint8 image draws, in its pixels."""
        return [graph_of(d) for d in decode_graph(self.net, ink(images), self.decode_settings)]

    @property
    def decode_settings(self) -> DecodeSettings:
        """How this reader's maps become atoms and bonds: its release's settings."""
        return DecodeSettings(
            threshold=self.hparams.threshold,
            separation=self.hparams.atom_separation,
            plain_class=CARBON_CLASS,
        )

    @property
    def reading_sizes(self) -> tuple[int, ...]:
        """The other sides an image file is cleaned at for ``read_molecules`` (none when
        ``target_bond_length`` is 0): 1/2 to 2 times the trained size, multiples of 32."""
        if not self.hparams.get("target_bond_length"):
            return ()
        side = self.clean_params.image_size
        return tuple(sorted({32 * round(side * scale / 32) for scale in READING_SCALES} - {side}))

    def read_molecules(
        self, images: torch.Tensor, rescaled: dict[int, torch.Tensor] | None = None
    ) -> list[GraphReading]:
        """The molecule each (B, 1, S, S) uint8 image draws.

        With ``rescaled`` (side -> (B, 1, side, side): the same images cleaned at
        ``reading_sizes``) an image is read again at the ``SCALE_VOTERS`` sides nearest the one
        that brings its median bond to ``target_bond_length``, and those readings vote: each
        counts as much as its own bonds come near that length (``min(b / t, t / b)``) times its
        confidence (its least certain atom or bond), the InChI with most weight wins. One side
        is a guess from one reading; on uspto-300 a vote of three read 6 more drawings right
        than the nearest side alone, and a vote of five 4 more than three (BENCHMARKS.md).
        """
        first = self.read(images)
        if not rescaled or not self.hparams.get("target_bond_length"):
            return [molecule_from_graph(graph) for graph in first]
        side = self.clean_params.image_size
        voters = [self._voting_sizes(graph, [side, *rescaled]) for graph in first]
        graphs: list[dict[int, MolGraph]] = [{side: graph} for graph in first]
        for size in sorted(set().union(*voters) - {side}):
            rows = [row for row, sizes in enumerate(voters) if size in sizes]
            read = self.read(rescaled[size][rows].to(self.device))
            for row, graph in zip(rows, read, strict=True):
                graphs[row][size] = graph
        return [
            self._vote([by_size[size] for size in sizes])
            for by_size, sizes in zip(graphs, voters, strict=True)
        ]

    def _voting_sizes(self, graph: MolGraph, sizes: list[int]) -> list[int]:
        length = voting_bond_length(graph)
        return voting_sides(length, self.hparams.target_bond_length, sizes, SCALE_VOTERS)

    def _vote(self, graphs: list[MolGraph]) -> GraphReading:
        """The reading whose InChI the graphs' weighted votes choose (``scale_vote``)."""
        readings = [molecule_from_graph(graph) for graph in graphs]
        winner = scale_vote(
            [r.inchi for r in readings],
            [r.confidence for r in readings],
            [voting_bond_length(g) for g in graphs],
            self.hparams.target_bond_length,
        )
        return next(r for r in readings if r.inchi == winner)

    def decode(
        self, images: torch.Tensor, rescaled: dict[int, torch.Tensor] | None = None
    ) -> tuple[list[list[str]], torch.Tensor]:
        """The InChI of each (B, 1, S, S) uint8 image as the only candidate ("" where RDKit
        cannot build the molecule), and its (B, 1) confidence: the captioner's ``decode``
        (``rescaled`` as for ``read_molecules``)."""
        readings = self.read_molecules(images, rescaled)
        confidence = torch.tensor([[r.confidence] for r in readings], dtype=torch.float32)
        return [[r.inchi] for r in readings], confidence

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

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, Any]]:
        """One ``{"image_id", "InChI", "confidence"}`` per image; unreadable ones get ``""``."""
        rows = []
        readings = self.read_molecules(batch["images"], batch.get("rescaled"))
        for image_id, error, reading in zip(
            batch["image_ids"], batch["errors"], readings, strict=True
        ):
            inchi, confidence = reading.inchi, reading.confidence
            if error:
                inchi, confidence = "", float("nan")
            rows.append({"image_id": image_id, "InChI": inchi, "confidence": confidence})
        return rows

    # ---- optimisation -----------------------------------------------------------------------

    def on_fit_start(self) -> None:
        # Here, after Lightning has restored a --ckpt_path, and only where it has not.
        if self.hparams.get("init_weights") and self.trainer.ckpt_path is None:
            self._load_initial_weights(self.hparams.init_weights)
        # The scale real drawings are read at follows the drawings this model learns from.
        train = getattr(self.trainer.datamodule, "datasets", {}).get("train")
        if not self.hparams.target_bond_length and isinstance(train, GraphDataset):
            self.hparams.target_bond_length = median_bond_length(train.shards)

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
