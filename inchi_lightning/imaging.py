"""OpenCV at the edge: read any image as gray uint8, and ``clean()`` it for the model.

``clean()`` is the one preparation that training shards and served images share, so the model
never sees an image at prediction time that was prepared differently from training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WHITE = 255


@dataclass(frozen=True)
class CleanParams:
    """How ``clean()`` prepares an image; stored in shard manifests and checkpoints.

    Args:
        image_size: side of the square output image, in pixels.
        threshold: gray levels below this count as ink.
        max_speck_area: ink components of at most this many pixels may be specks...
        max_speck_extent: ...when they are also at most this many pixels wide and tall, so thin
            bonds (long) and atom labels (several pixels across) survive.
        margin: white border kept around the drawing in the output, in pixels.
        sharpen: unsharp-mask strength after resizing (0 turns it off); restores the contrast
            that area resampling takes from one-pixel lines.
        max_input_side: larger inputs are shrunk to this first, bounding time and memory.
    """

    image_size: int = 256
    threshold: int = 200
    max_speck_area: int = 2
    max_speck_extent: int = 2
    margin: int = 4
    sharpen: float = 1.0
    max_input_side: int = 3000


class ImageError(ValueError):
    """An image that cannot be used; the message is one line that names the reason."""


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """The image at ``path`` as (H, W) uint8 gray on white: 8/16-bit, gray/RGB/RGBA, PNG/JPEG.

    Raises:
        ImageError: missing file, zero-byte file, or not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"missing file: {path}")
    if path.stat().st_size == 0:
        raise ImageError(f"zero-byte file: {path}")
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageError(f"unreadable image: {path}")
    return to_gray_uint8(image)


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded image as (H, W) uint8 gray; transparent pixels become white paper."""
    if image.dtype != np.uint8:
        peak = np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0
        image = np.clip(image.astype(np.float32) * (WHITE / peak), 0, WHITE).round()
        image = image.astype(np.uint8)
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / WHITE
        rgb = image[:, :, :3].astype(np.float32) * alpha + WHITE * (1.0 - alpha)
        image = rgb.round().astype(np.uint8)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def clean(gray: np.ndarray, params: CleanParams = CleanParams()) -> np.ndarray:
    """Despeckle, crop, turn landscape, resize, sharpen and pad: (S, S) uint8, white paper.

    Raises:
        ImageError: nothing but specks (or nothing at all) is drawn.
    """
    gray = shrink_to(gray, params.max_input_side)
    ink = despeckle(gray < params.threshold, params.max_speck_area, params.max_speck_extent)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ImageError("empty image: no ink after despeckling")
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    drawing = np.where(ink[box], gray[box], WHITE).astype(np.uint8)
    if drawing.shape[0] > drawing.shape[1]:
        drawing = cv2.rotate(drawing, cv2.ROTATE_90_COUNTERCLOCKWISE)
    drawing = fit_within(drawing, params.image_size - 2 * params.margin)
    return pad_to_square(unsharp(drawing, params.sharpen), params.image_size)


def shrink_to(gray: np.ndarray, max_side: int) -> np.ndarray:
    """``gray`` scaled down (keeping its aspect ratio) so that no side exceeds ``max_side``."""
    scale = max_side / max(gray.shape)
    if scale >= 1:
        return gray
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def despeckle(ink: np.ndarray, max_area: int, max_extent: int) -> np.ndarray:
    """``ink`` (bool) without the connected components that are both tiny and compact."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), 8)
    area = stats[:, cv2.CC_STAT_AREA]
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = (area > max_area) | (extent > max_extent)
    keep[0] = False  # label 0 is the paper
    return keep[labels]


def fit_within(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` resized so that its longer side is ``side``, keeping its aspect ratio."""
    scale = side / max(gray.shape)
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, size, interpolation=interpolation)


def unsharp(gray: np.ndarray, amount: float) -> np.ndarray:
    """Unsharp mask: ``gray + amount * (gray - blur(gray))``, clipped to uint8."""
    if amount <= 0:
        return gray
    blurred = cv2.GaussianBlur(gray, (0, 0), sigmaX=1.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.addWeighted(gray, 1.0 + amount, blurred, -amount, 0)


def pad_to_square(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` centred on a white ``side`` x ``side`` canvas."""
    canvas = np.full((side, side), WHITE, dtype=np.uint8)
    top, left = (side - gray.shape[0]) // 2, (side - gray.shape[1]) // 2
    canvas[top : top + gray.shape[0], left : left + gray.shape[1]] = gray
    return canvas
