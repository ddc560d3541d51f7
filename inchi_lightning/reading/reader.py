"""``Reader``: images of structures in, ``Reading``s out; the one reading path of the project.

The API, ``predict`` and ``evaluate`` all read through it, with either model:

    reader = Reader()                         # the shipped model; Reader("x.ckpt") for any
    readings = reader.read(["a.png", array, pil_image])
    readings[0].inchi, .smiles, .molfile, .confidence, .error

Neither Lightning nor Ray is imported: a checkpoint is loaded as a plain network.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from inchi_lightning.imaging import ImageError
from inchi_lightning.processes import available_cpus
from inchi_lightning.reading.inputs import ImageSource, gray_image
from inchi_lightning.reading.loading import ImageReader, load_image_reader
from inchi_lightning.reading.readings import Reading, read_readable
from inchi_lightning.reading.vote import VoteGate
from inchi_lightning.shipped import require_shipped_model

Precision = Literal["auto", "fp32", "bf16"]


def native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), where a bf16
    network is faster; elsewhere bf16 is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class Reader:
    """Reads images of chemical structures with a checkpoint of either model.

    Args:
        checkpoint: a checkpoint file of this project; None: the model shipped with the package.
        batch_size: images read together (the network sees at most this many at once).
        num_threads: CPU threads for the network and for cleaning images; None: every CPU this
            process may use. Sets ``torch.set_num_threads`` for the process.
        vote: when the graph recogniser reads an image again at other sides and votes
            (``VoteGate``): ``always`` (the most accurate); ``auto``, only where its readings
            are unsure (faster, a few fewer right); ``never`` (fastest, many fewer right).
        precision: ``bf16`` runs the network in bfloat16; ``auto`` does so where the CPU has
            native bf16 arithmetic; ``fp32`` never.
        beam_width: the captioner's candidates per image; None keeps the checkpoint's.
        rdkit: the captioner's reading is the first candidate RDKit reads, normalised (off: its
            best candidate as written); None keeps the checkpoint's setting.

    Raises:
        FileNotFoundError: no checkpoint at the path (or no shipped model without one).
        ValueError: the file is not a checkpoint of this project's models.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        batch_size: int = 16,
        num_threads: int | None = None,
        vote: Literal["auto", "always", "never"] = "always",
        precision: Precision = "auto",
        beam_width: int | None = None,
        rdkit: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision is auto, fp32 or bf16, not {precision!r}")
        self.checkpoint = Path(checkpoint) if checkpoint else require_shipped_model()
        self.batch_size = batch_size
        self.num_threads = num_threads or available_cpus()
        torch.set_num_threads(self.num_threads)
        self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix="reader")
        bf16 = precision == "bf16" or (precision == "auto" and native_bf16())
        self.model: ImageReader = load_image_reader(
            self.checkpoint, VoteGate(vote), bf16, beam_width, rdkit, self._pool.map
        )

    @property
    def clean_params(self):
        """How this reader's model cleans an image (its training images' settings)."""
        return self.model.clean_params

    def read(
        self, images: ImageSource | Iterable[ImageSource], progress: bool = False
    ) -> list[Reading]:
        """One ``Reading`` per image, in order; an image that cannot be read gets its
        ``error``, never an exception.

        Args:
            images: one image or several: paths, numpy arrays (H, W) or (H, W, 3|4), Pillow
                images.
            progress: show a progress bar (tqdm) with images per second.
        """
        if isinstance(images, (str, os.PathLike, np.ndarray)) or hasattr(images, "getbands"):
            images = [images]
        return list(self.iter_read(images, progress=progress))

    def iter_read(
        self, images: Iterable[ImageSource], progress: bool = False, total: int | None = None
    ) -> Iterator[Reading]:
        """``read`` one batch at a time, for more images than fit in memory at once."""
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="image", desc="reading", dynamic_ncols=True)
        iterator = iter(images)
        try:
            while batch := list(itertools.islice(iterator, self.batch_size)):
                yield from self._read_batch(batch)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()

    def read_cleaned(self, images: torch.Tensor) -> list[Reading]:
        """Readings of (B, 1, S, S) uint8 images cleaned already with ``clean_params``
        (a shard split): read at that side only."""
        return self.model.read_cleaned(images)

    def _read_batch(self, sources: list[ImageSource]) -> list[Reading]:
        grays = list(self._pool.map(_gray_or_error, sources))
        return read_readable(grays, self.model.read)

    def close(self) -> None:
        """Stop the reader's threads (also done when it is garbage-collected)."""
        self._pool.shutdown(wait=False)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _gray_or_error(source: ImageSource) -> np.ndarray | ImageError:
    try:
        return gray_image(source)
    except ImageError as error:
        return error
    except (OSError, ValueError, MemoryError) as error:  # what decoding libraries raise
        return ImageError(f"unreadable image ({type(error).__name__}: {error})")
