"""What a user hands the reader, as the (H, W) uint8 gray image every reader cleans.

Paths are decoded by ``imaging.read_gray`` (OpenCV, Pillow for what OpenCV cannot read); arrays
and Pillow images are converted here. Each failure is an ``ImageError`` with a one-line reason,
which the reader turns into that image's ``error``: one bad image never stops a batch.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from inchi_lightning.imaging import MAX_PIXELS, ImageError, gray_from_pil, read_gray, to_gray_uint8

# The files a folder is searched for: what OpenCV or Pillow decode.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
# What ``Reader.read`` takes for one image.
ImageSource = Union[str, "os.PathLike[str]", np.ndarray, Any]  # Any: a PIL.Image.Image


def gray_image(source: ImageSource) -> np.ndarray:
    """``source`` as (H, W) uint8 gray, dark ink on white paper.

    Args:
        source: a path; a numpy array (H, W) gray or (H, W, 3|4) RGB(A), of any integer or
            float dtype (floats in [0, 1]; bool: True is white, as Pillow's mode "1"); or a
            Pillow image of any mode.

    Raises:
        ImageError: unreadable, empty (one colour), too large, or an array of another shape or
            dtype, or with NaN or infinite values.
    """
    if isinstance(source, (str, os.PathLike)):
        return read_gray(source)
    if isinstance(source, np.ndarray):
        return _checked(_gray_from_array(source))
    if hasattr(source, "getbands") and hasattr(source, "convert"):  # a Pillow image
        return _checked(gray_from_pil(source))
    raise ImageError(f"not an image: {type(source).__name__}")


def _gray_from_array(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an image array is (H, W), (H, W, 3) or (H, W, 4), not {array.shape}")
    if array.size == 0:
        raise ImageError("empty array")
    if array.size > 4 * MAX_PIXELS:
        raise ImageError(f"image too large: {array.shape[1]} x {array.shape[0]} px")
    if array.dtype == bool:
        array = np.where(array, 255, 0).astype(np.uint8)
    if array.dtype.kind not in "uif":
        raise ImageError(f"an image array holds numbers, not {array.dtype}")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ImageError("image array has NaN or infinite values")
        array = np.clip(array, 0.0, 1.0)  # outside [0, 1] is black or white, however far
    if array.dtype.kind == "i":  # signed: only the non-negative range means anything
        array = np.clip(array, 0, None).astype(np.uint16 if array.max() > 255 else np.uint8)
    if array.ndim == 3:  # RGB(A) as numpy and Pillow give them; OpenCV's functions want BGR(A)
        array = np.ascontiguousarray(array[:, :, [2, 1, 0, 3][: array.shape[2]]])
    return to_gray_uint8(array)


def _checked(gray: np.ndarray) -> np.ndarray:
    if gray.min() == gray.max():
        raise ImageError("empty image")
    return gray


def image_files(specs: Sequence[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """The image files that ``specs`` name, in order, and the other files their folders hold.

    Each spec is an image file (read whatever its suffix), a folder (its files with an image
    suffix, recursively, sorted by path) or a glob pattern (``**`` recursive). Every image is
    named by its file's stem in a submission, so two images of one stem are refused.

    Raises:
        FileNotFoundError: a spec that names nothing, or no image at all.
        ValueError: two images of one stem.
    """
    images: list[Path] = []
    others: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            images += [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
            others += [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
        elif path.is_file():
            images.append(path)
        elif glob.has_magic(str(spec)):
            matches = sorted(Path(p) for p in glob.glob(str(spec), recursive=True))
            if not matches:
                raise FileNotFoundError(f"no file matches {spec}")
            images += [p for p in matches if p.is_file()]
        else:
            raise FileNotFoundError(f"no such file or folder: {spec}")
    if not images:
        raise FileNotFoundError(f"no images in {', '.join(str(s) for s in specs)}")
    refuse_name_clashes(images)
    return images, others


def refuse_name_clashes(images: Sequence[Path]) -> None:
    """A submission names each image by its file's stem, as Kaggle's does; two files of one
    stem would give two rows of one name.

    Raises:
        ValueError: naming the first clash.
    """
    seen: dict[str, Path] = {}
    for path in images:
        first = seen.setdefault(path.stem, path)
        if first != path:
            raise ValueError(
                f"{first} and {path} would both be named {path.stem!r} in the submission: "
                "rename one, or predict them one at a time"
            )
