"""``InChICaptioner``: wires the captioning network to losses, metrics, logging and optimisers."""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MinMetric

from inchi_lightning.chem import postprocess
from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import Captioner, DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.tokenizer import EOS_ID, PAD_ID, SOS_ID, InChITokenizer
from inchi_lightning.training.checkpoints import plain_hyperparameters
from inchi_lightning.training.metrics import ExactMatch, LevenshteinDistance

log = logging.getLogger(__name__)


def as_dataclass(cls: type, value: Any) -> Any:
    """Accept a dataclass or its ``asdict`` form (how checkpoints store hyperparameters)."""
    return cls(**value) if isinstance(value, dict) else value


def ink(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) uint8 scans, white background → float with ink = 1, background = 0."""
    return 1.0 - images.float() / 255.0


class TrainingRate(L.LightningModule):
    """Logs ``train/images_per_s``: images over the time from one training batch's end to the
    next, data loading included (what a user waits for), validation left out."""

    _last_batch_end: float | None = None

    def on_train_batch_end(self, outputs: Any, batch: dict[str, Any], batch_idx: int) -> None:
        now = time.perf_counter()
        if self._last_batch_end is not None:
            rate = len(batch["image_ids"]) / (now - self._last_batch_end)
            self.log("train/images_per_s", rate, prog_bar=True, on_step=True, on_epoch=False)
        self._last_batch_end = now

    def on_train_epoch_start(self) -> None:
        self._last_batch_end = None

    def on_validation_end(self) -> None:
        self._last_batch_end = None


class InChICaptioner(TrainingRate):
    """A ResNet encoder and an LSTM decoder trained to write the InChI of a drawing.

    Args:
        vocabulary: the token list (filled in from the shard directory's ``vocab.json``).
        max_length: decoding steps; the longest training label, ``<sos>``/``<eos>`` included.
        clean_params: how images were cleaned in preprocessing; predict cleans the same way.
        encoder: the ResNet backbone and its weights.
        decoder: plain or attention LSTM and its sizes.
        lr: decoder learning rate (AdamW).
        encoder_lr: encoder learning rate; lower for pretrained backbones.
        weight_decay: AdamW weight decay.
        label_smoothing: cross-entropy label smoothing.
        scheduler: ``cosine`` decays to zero over the run after warm-up; ``constant`` keeps it.
        warmup_steps: linear warm-up steps.
        beam_width: 1 decodes greedily; more runs beam search in validate, test and predict.
        length_penalty: beam score = sum log p / length ** length_penalty.
        num_logged_samples: validation samples shown in TensorBoard each epoch.
        rdkit_postprocess: predict writes the most probable beam candidate RDKit reads, as
            RDKit's standard InChI; off, the best beam as decoded. Validation stays raw.
    """

    def __init__(
        self,
        vocabulary: list[str] | None = None,
        max_length: int = 0,
        clean_params: CleanParams | None = None,
        encoder: EncoderConfig | None = None,
        decoder: DecoderConfig | None = None,
        lr: float = 1e-3,
        encoder_lr: float = 1e-4,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.0,
        scheduler: Literal["cosine", "constant"] = "cosine",
        warmup_steps: int = 100,
        beam_width: int = 1,
        length_penalty: float = 1.0,
        num_logged_samples: int = 8,
        rdkit_postprocess: bool = True,
    ) -> None:
        super().__init__()
        if not vocabulary:
            raise ValueError(
                "the model needs a vocabulary: train with data.shards pointing at a "
                "preprocessed set, or predict with --ckpt_path"
            )
        self.save_hyperparameters()
        self.tokenizer = InChITokenizer(vocabulary, max_length)
        self.clean_params = as_dataclass(CleanParams, clean_params) or CleanParams()
        self.net = Captioner(
            vocab_size=self.tokenizer.vocab_size,
            encoder=as_dataclass(EncoderConfig, encoder) or EncoderConfig(),
            decoder=as_dataclass(DecoderConfig, decoder) or DecoderConfig(),
            pad_id=PAD_ID,
            sos_id=SOS_ID,
            eos_id=EOS_ID,
        )
        self.val_levenshtein, self.test_levenshtein = LevenshteinDistance(), LevenshteinDistance()
        self.val_exact_match, self.test_exact_match = ExactMatch(), ExactMatch()
        self.val_levenshtein_best = MinMetric()
        self._logged_samples: list[tuple[str, str, str]] = []

    @property
    def vocabulary(self) -> list[str]:
        return self.tokenizer.tokens

    # ---- training ---------------------------------------------------------------------------

    def _loss(self, batch: dict[str, Any]) -> torch.Tensor:
        tokens = batch["tokens"]  # (B, T)
        logits = self.net(ink(batch["images"]), tokens)  # (B, T-1, V)
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            tokens[:, 1:].reshape(-1),
            ignore_index=PAD_ID,
            label_smoothing=self.hparams.label_smoothing,
        )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        batch_size = len(batch["image_ids"])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss

    # ---- evaluation -------------------------------------------------------------------------

    def decode(self, images: torch.Tensor) -> tuple[list[list[str]], torch.Tensor]:
        """Candidate InChIs for (B, 1, S, S) uint8 images, best first, and their (B, k) scores.

        k is ``beam_width`` (one candidate when decoding greedily); a score is the mean token
        log-probability (length-normalised as set by ``length_penalty`` in beam search).
        """
        max_length = self.tokenizer.max_length - 1  # generated tokens: no <sos>, with <eos>
        if self.hparams.beam_width > 1:
            tokens, scores = self.net.beam(
                ink(images),
                max_length=max_length,
                beam_width=self.hparams.beam_width,
                length_penalty=self.hparams.length_penalty,
            )  # (B, k, L), (B, k)
        else:
            tokens, scores = self.net.greedy(ink(images), max_length=max_length)
            tokens, scores = tokens.unsqueeze(1), scores.unsqueeze(1)  # (B, 1, L), (B, 1)
        candidates = [self.tokenizer.decode_batch(beams) for beams in tokens.tolist()]
        return candidates, scores

    def _evaluate(self, batch: dict[str, Any], stage: str) -> list[str]:
        batch_size = len(batch["image_ids"])
        self.log(f"{stage}/loss", self._loss(batch), batch_size=batch_size, sync_dist=True)
        candidates, _ = self.decode(batch["images"])
        predictions = [beams[0] for beams in candidates]  # raw: fast, and what checkpoints track
        levenshtein = getattr(self, f"{stage}_levenshtein")
        exact_match = getattr(self, f"{stage}_exact_match")
        levenshtein.update(predictions, batch["inchis"])
        exact_match.update(predictions, batch["inchis"])
        self.log(f"{stage}/levenshtein", levenshtein, prog_bar=True, batch_size=batch_size)
        self.log(f"{stage}/exact_match", exact_match, batch_size=batch_size)
        return predictions

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        predictions = self._evaluate(batch, "val")
        if batch_idx == 0:
            self._remember_samples(batch, predictions)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self.val_levenshtein_best(self.val_levenshtein.compute())
        self.log("val/levenshtein_best", self.val_levenshtein_best.compute())
        self._log_samples()

    def _remember_samples(self, batch: dict[str, Any], predictions: list[str]) -> None:
        n = self.hparams.num_logged_samples
        self._logged_samples = list(
            zip(batch["image_ids"][:n], batch["inchis"][:n], predictions[:n], strict=True)
        )
        self._logged_images = batch["images"][:n].detach().cpu()
        self._logged_tokens = batch["tokens"][:n].detach().cpu()

    def _log_samples(self) -> None:
        """A table of predictions against truth and the images, for TensorBoard."""
        from lightning.pytorch.loggers import TensorBoardLogger

        if not isinstance(self.logger, TensorBoardLogger) or not self._logged_samples:
            return
        rows = ["| image_id | truth | prediction |", "| --- | --- | --- |"]
        rows += [f"| {i} | `{t}` | `{p}` |" for i, t, p in self._logged_samples]
        experiment = self.logger.experiment
        experiment.add_text("val/samples", "\n".join(rows), self.global_step)
        experiment.add_images("val/images", self._logged_images, self.global_step)
        if hasattr(self.net.decoder, "forward_with_attention"):
            overlay = self._attention_overlay(self._logged_images, self._logged_tokens)
            experiment.add_images("val/attention", overlay, self.global_step)

    @torch.no_grad()
    def _attention_overlay(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(n, 3, S, S) images tinted red where the decoder looked, averaged over its steps."""
        images, tokens = images.to(self.device), tokens.to(self.device)
        features = self.net.encode(ink(images))  # (n, C, h, w)
        _, attention = self.net.decoder.forward_with_attention(features, tokens)  # (n, T-1, P)
        steps = (tokens[:, 1:] != PAD_ID).unsqueeze(-1)  # (n, T-1, 1)
        heat = (attention * steps).sum(1) / steps.sum(1).clamp(min=1)  # (n, P)
        heat = heat.view(-1, 1, *features.shape[2:])  # (n, 1, h, w)
        heat = F.interpolate(heat, size=images.shape[2:], mode="bilinear", align_corners=False)
        heat = heat / heat.amax(dim=(2, 3), keepdim=True).clamp(min=1e-8)
        paper = images.float() / 255.0  # (n, 1, S, S)
        dimmed = paper * (1 - 0.6 * heat)
        return torch.cat([dimmed + 0.6 * heat, dimmed, dimmed], dim=1).cpu()

    # ---- prediction -------------------------------------------------------------------------

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, Any]]:
        """One ``{"image_id", "InChI", "confidence"}`` per image; unreadable ones get ``""``.

        With ``rdkit_postprocess`` the InChI is the most probable candidate RDKit reads,
        normalised, and the confidence that candidate's score.
        """
        candidates, scores = self.decode(batch["images"])
        rows = []
        for image_id, error, beams, beam_scores in zip(
            batch["image_ids"], batch["errors"], candidates, scores.tolist(), strict=True
        ):
            inchi, score = beams[0], beam_scores[0]
            if error:
                log.warning("could not read image %s: %s", image_id, error)
                inchi, score = "", float("nan")
            elif self.hparams.rdkit_postprocess:
                result = postprocess(beams)
                inchi, score = result.final, beam_scores[result.chosen_index]
            rows.append({"image_id": image_id, "InChI": inchi, "confidence": score})
        return rows

    # ---- optimisation -----------------------------------------------------------------------

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.AdamW(
            [
                {"params": self.net.encoder.parameters(), "lr": hp.encoder_lr},
                {"params": self.net.decoder.parameters(), "lr": hp.lr},
            ],
            weight_decay=hp.weight_decay,
        )
        return stepped(optimizer, hp.scheduler, hp.warmup_steps, self.trainer)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        plain_hyperparameters(checkpoint, self)


def stepped(
    optimizer: torch.optim.Optimizer, kind: str, warmup_steps: int, trainer: L.Trainer
) -> dict[str, Any]:
    """``configure_optimizers``' answer: ``optimizer`` with ``warmup_then``'s factor applied
    at every step of the run."""
    total = max(int(trainer.estimated_stepping_batches), 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then(kind, warmup_steps, total))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def warmup_then(kind: str, warmup_steps: int, total_steps: int):
    """Learning-rate factor per step: linear warm-up, then cosine decay or constant."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor
