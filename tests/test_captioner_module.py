import math

import lightning as L
import pytest
import torch

from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.captioner import DecoderConfig
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.shards import read_shard_spec
from inchi_lightning.training.data import InChIDataModule, collate_captions
from inchi_lightning.training.module import InChICaptioner, ink, warmup_then


def tiny_captioner(shards, attention: bool = False, **kwargs) -> InChICaptioner:
    tokenizer, clean_params = read_shard_spec(shards)
    return InChICaptioner(
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
    loaded = InChICaptioner.load_from_checkpoint(tmp_path / "model.ckpt")
    assert loaded.vocabulary == model.vocabulary
    assert loaded.clean_params == model.clean_params
    assert loaded.hparams.decoder["attention"] is True

    # Checkpoints from before post-processing existed load with it on.
    del checkpoint["hyper_parameters"]["rdkit_postprocess"]
    torch.save(checkpoint, tmp_path / "old.ckpt")
    old = InChICaptioner.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=True)
    assert old.hparams.rdkit_postprocess is True

    size = model.clean_params.image_size
    with torch.no_grad():
        candidates, scores = old.eval().decode(torch.full((3, 1, size, size), 255).byte())
    assert [len(beams) for beams in candidates] == [2, 2, 2] and scores.shape == (3, 2)
    assert (scores[:, 0] >= scores[:, 1]).all()


def test_predict_step_gives_unreadable_images_an_empty_inchi(tiny_shards, caplog):
    model = tiny_captioner(tiny_shards).eval()
    size = model.clean_params.image_size
    batch = {
        "images": torch.full((2, 1, size, size), 255, dtype=torch.uint8),
        "image_ids": ["good", "bad"],
        "errors": ["", "not an image"],
    }
    with torch.no_grad():
        rows = model.predict_step(batch, 0)
    assert [row["image_id"] for row in rows] == ["good", "bad"]
    assert rows[0]["InChI"].startswith("InChI=1S/")
    assert rows[1]["InChI"] == "" and math.isnan(rows[1]["confidence"])
    assert "bad" in caplog.text


@pytest.mark.parametrize("rdkit_postprocess", [True, False])
def test_predict_step_writes_the_first_valid_candidate_normalised_with_its_score(
    tiny_shards, monkeypatch, rdkit_postprocess
):
    model = tiny_captioner(tiny_shards, beam_width=3, rdkit_postprocess=rdkit_postprocess)
    beams = ["InChI=1S/C9/bad", "InChI=1S/CH4O/c2-1/h2H,1H3", "InChI=1S/H2O/h1H2"]
    scores = torch.tensor([[-0.1, -0.2, -0.3]])
    monkeypatch.setattr(model, "decode", lambda images: ([beams], scores))
    batch = {"images": None, "image_ids": ["a"], "errors": [""]}
    (row,) = model.predict_step(batch, 0)
    if rdkit_postprocess:
        assert row["InChI"] == "InChI=1S/CH4O/c1-2/h2H,1H3"
        assert row["confidence"] == pytest.approx(-0.2)
    else:
        assert row["InChI"] == beams[0] and row["confidence"] == pytest.approx(-0.1)


def test_model_refuses_to_start_without_vocabulary():
    with pytest.raises(ValueError, match="vocabulary"):
        InChICaptioner(clean_params=CleanParams())


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
