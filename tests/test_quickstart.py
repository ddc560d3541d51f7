"""The quickstart set: built when missing, read back with its vocabulary and clean() settings."""

import pytest

from inchi_lightning.imaging import CleanParams
from inchi_lightning.prep.quickstart import QuickstartSettings, prepare_shards

from .conftest import TINY_IMAGE_SIZE
from .test_data import make_datamodule


def test_missing_shards_without_quickstart_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="preprocess"):
        prepare_shards(tmp_path / "nowhere", quickstart=None)


def test_prepare_shards_reads_vocabulary_and_clean_params(tiny_shards):
    tokenizer, clean_params = prepare_shards(tiny_shards, quickstart=None)
    assert tokenizer.vocab_size > 10
    assert clean_params == CleanParams(image_size=TINY_IMAGE_SIZE)


def test_quickstart_builds_missing_shards(tmp_path):
    settings = QuickstartSettings(n=30, image_size=48, val_fraction=0.2, turn_portrait=False)
    tokenizer, clean_params = prepare_shards(tmp_path / "shards", settings)
    assert clean_params == CleanParams(image_size=48, turn_portrait=False)
    assert (tmp_path / "shards-raw" / "train_labels.csv").is_file()
    datamodule = make_datamodule(tmp_path / "shards")
    datamodule.setup("fit")
    assert len(datamodule.datasets["train"]) + len(datamodule.datasets["val"]) > 0
    assert datamodule.tokenizer == tokenizer
