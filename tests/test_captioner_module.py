import lightning as L
import pytest
import torch

from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig, ink
from inchi_lightning.shards import read_shard_spec
from inchi_lightning.training.base_module import warmup_then
from inchi_lightning.training.captioner_module import CaptionerModule
from inchi_lightning.training.data import InChIDataModule, collate_captions


def tiny_captioner(shards, attention: bool = False, **kwargs) -> CaptionerModule:
    tokenizer, clean_params = read_shard_spec(shards)
    return CaptionerModule(
        vocabulary=tokenizer.tokens,
        max_length=tokenizer.max_length,
        clean_params=clean_params,
        encoder=EncoderConfig(name="resnet18", weights="none"),
        decoder=DecoderConfig(attention=attention, embed_dim=64, hidden_dim=128, dropout=0.0),
        **kwargs,
    )


def quiet_trainer(**kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return L.Trainer(**{**defaults, **kwargs})


def test_overfits_eight_molecules_to_near_zero_levenshtein(tiny_shards):
    """A real learning test: the whole stack learns 8 drawings by heart."""
    L.seed_everything(0)
    model = tiny_captioner(
        tiny_shards, lr=3e-3, encoder_lr=3e-3, scheduler="constant", warmup_steps=1
    )
    datamodule = InChIDataModule(str(tiny_shards), batch_size=8, num_workers=0, augment=False)
    trainer = quiet_trainer(max_steps=250, overfit_batches=1, limit_val_batches=0)
    trainer.fit(model, datamodule=datamodule)

    # The batch Lightning overfitted: the first eight samples (it turns shuffling off).
    batch = collate_captions([datamodule.datasets["train"][i] for i in range(8)])
    model.eval()
    with torch.no_grad():
        candidates, _ = model.decode(batch["images"])
    predictions = [beams[0] for beams in candidates]
    model.val_levenshtein.reset()
    model.val_levenshtein.update(predictions, batch["inchis"])
    assert model.val_levenshtein.compute() < 1.0


def test_validation_logs_metrics_and_untrained_model_is_far_off(tiny_shards):
    model = tiny_captioner(tiny_shards)
    datamodule = InChIDataModule(str(tiny_shards), batch_size=8, num_workers=0)
    (metrics,) = quiet_trainer(limit_val_batches=2).validate(model, datamodule=datamodule)
    assert {"val/loss", "val/levenshtein", "val/exact_match"} <= set(metrics)
    assert metrics["val/levenshtein"] > 10
    assert metrics["val/exact_match"] == 0.0


def test_checkpoint_loads_with_weights_only_and_predicts_alone(tiny_shards, tmp_path):
    model = tiny_captioner(tiny_shards, attention=True, beam_width=2)
    datamodule = InChIDataModule(str(tiny_shards), batch_size=4, num_workers=0)
    trainer = quiet_trainer(max_steps=1, limit_val_batches=1, default_root_dir=tmp_path)
    trainer.fit(model, datamodule=datamodule)
    trainer.save_checkpoint(tmp_path / "model.ckpt")

    checkpoint = torch.load(tmp_path / "model.ckpt", weights_only=True)
    saved_clean_params = checkpoint["hyper_parameters"]["clean_params"]
    assert saved_clean_params["image_size"] == model.clean_params.image_size
    loaded = CaptionerModule.load_from_checkpoint(tmp_path / "model.ckpt")
    assert loaded.vocabulary == model.vocabulary
    assert loaded.clean_params == model.clean_params
    assert loaded.hparams.decoder["attention"] is True

    # Checkpoints from before post-processing existed load with it on.
    del checkpoint["hyper_parameters"]["rdkit_postprocess"]
    torch.save(checkpoint, tmp_path / "old.ckpt")
    old = CaptionerModule.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=True)
    assert old.hparams.rdkit_postprocess is True

    size = model.clean_params.image_size
    with torch.no_grad():
        candidates, scores = old.eval().decode(torch.full((3, 1, size, size), 255).byte())
    assert [len(beams) for beams in candidates] == [2, 2, 2] and scores.shape == (3, 2)
    assert (scores[:, 0] >= scores[:, 1]).all()


def test_model_refuses_to_start_without_vocabulary():
    with pytest.raises(ValueError, match="vocabulary"):
        CaptionerModule(clean_params=CleanParams())


def test_ink_maps_white_to_zero_and_black_to_one():
    images = torch.tensor([[[[255, 0]]]], dtype=torch.uint8)
    assert ink(images).tolist() == [[[[0.0, 1.0]]]]


def test_learning_rate_schedule_warms_up_then_decays():
    cosine = warmup_then("cosine", warmup_steps=10, total_steps=110)
    assert cosine(0) == pytest.approx(0.1)
    assert cosine(9) == pytest.approx(1.0)
    assert cosine(60) == pytest.approx(0.5)
    assert cosine(110) == pytest.approx(0.0)
    assert warmup_then("constant", 10, 110)(100) == 1.0


def test_validation_writes_samples_images_and_attention_to_tensorboard(tiny_shards, tmp_path):
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = tiny_captioner(tiny_shards, attention=True, num_logged_samples=2)
    datamodule = InChIDataModule(str(tiny_shards), batch_size=4, num_workers=0)
    logger = TensorBoardLogger(tmp_path, name="run")
    trainer = quiet_trainer(
        logger=logger, max_steps=1, limit_train_batches=1, limit_val_batches=1,
        num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(model, datamodule=datamodule)
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "tensors": 0}).Reload()
    assert {"val/images", "val/attention"} <= set(events.Tags()["images"])
    assert any(tag.startswith("val/samples") for tag in events.Tags()["tensors"])
    assert "val/levenshtein" in events.Tags()["scalars"]
