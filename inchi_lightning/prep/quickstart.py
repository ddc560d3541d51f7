"""The quickstart set: drawn and preprocessed when a fit names shards that do not exist yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from inchi_lightning.imaging import CleanParams
from inchi_lightning.prep.preprocess import preprocess
from inchi_lightning.prep.synth import synthesise
from inchi_lightning.shards import MANIFEST_FILE, read_shard_spec
from inchi_lightning.tokenizer import InChITokenizer

log = logging.getLogger(__name__)


@dataclass
class QuickstartSettings:
    """The synthetic set built when the configured shard directory does not exist yet.

    Args:
        n: molecules to draw.
        seed: drawing and sampling seed; the same seed gives the same images.
        image_size: side of the square images written to the shards.
        val_fraction: share of image ids held out for validation.
        raw_dir: where the BMS-layout drawings go; default ``<shards>-raw``.
        patent_fraction: share of drawings in the clean patent style instead of BMS scans
            (see ``synth --patent-fraction``); 0 draws BMS scans only.
        turn_portrait: turn drawings taller than wide to landscape (``CleanParams``); the
            graph configs keep them upright, as patent text is drawn.
    """

    n: int = 2000
    seed: int = 0
    image_size: int = 128
    val_fraction: float = 0.1
    raw_dir: str | None = None
    patent_fraction: float = 0.0
    turn_portrait: bool = True


def prepare_shards(
    shards: str | Path, quickstart: QuickstartSettings | None
) -> tuple[InChITokenizer, CleanParams]:
    """Make sure ``shards`` holds a preprocessed set, building the quickstart set if asked.

    Returns the set's vocabulary and the clean() parameters its images were made with.

    Raises:
        FileNotFoundError: the directory has no finished set and no quickstart is configured.
    """
    shards = Path(shards)
    if not (shards / MANIFEST_FILE).is_file():
        if quickstart is None:
            raise FileNotFoundError(
                f"no preprocessed shards at {shards} (no {MANIFEST_FILE}): run "
                "`python -m inchi_lightning preprocess --input RAW --output "
                f"{shards}` or set data.quickstart"
            )
        build_quickstart(shards, quickstart)
    return read_shard_spec(shards)


def build_quickstart(shards: Path, settings: QuickstartSettings) -> None:
    """Draw the synthetic set and preprocess it; both steps resume if interrupted."""

    raw = Path(settings.raw_dir) if settings.raw_dir else shards.with_name(shards.name + "-raw")
    log.info(
        "building the quickstart set: %d drawings in %s, shards in %s", settings.n, raw, shards
    )
    synthesise(raw, n=settings.n, seed=settings.seed, patent_fraction=settings.patent_fraction)
    preprocess(
        raw,
        shards,
        clean_params=CleanParams(
            image_size=settings.image_size, turn_portrait=settings.turn_portrait
        ),
        val_fraction=settings.val_fraction,
    )
