"""``CaptionerModule``: wires the captioning network to losses, metrics, logging and optimisers."""

from __future__ import annotations

import logging
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torchmetrics import MinMetric

from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig, ink
from inchi_lightning.reading.caption_reader import decode_captions
from inchi_lightning.reading.checkpoint import as_dataclass
from inchi_lightning.reading.loading import captioner_network
from inchi_lightning.tokenizer import PAD_ID
from inchi_lightning.training.base_module import TrainingRate, stepped
from inchi_lightning.training.checkpoints import plain_hyperparameters
from inchi_lightning.training.metrics import ExactMatch, LevenshteinDistance

log = logging.getLogger(__name__)


class CaptionerModule(TrainingRate):
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
        self.clean_params = as_dataclass(CleanParams, clean_params) or CleanParams()
        self.net, self.tokenizer = captioner_network(self.hparams, encoder_weights=True)
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
        """Candidate InChIs for (B, 1, S, S) uint8 images, best first, and their (B, k) scores
        (``decode_captions`` at this model's beam width)."""
        hp = self.hparams
        return decode_captions(self.net, self.tokenizer, images, hp.beam_width, hp.length_penalty)

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
