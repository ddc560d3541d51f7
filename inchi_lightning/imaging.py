"""OpenCV at the edge: read any image as gray uint8, and ``clean()`` it for the model.

``clean()`` is the one preparation that training shards and served images share, so the model
never sees an image at prediction time that was prepared differently from training. Every
function here is pure: arrays in, arrays out, ink dark (0) on white paper (255).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

WHITE = 255


@dataclass(frozen=True)
class CleanParams:
    """How ``clean()`` prepares an image; stored (``dataclasses.asdict``) in shard manifests and
    checkpoints, and rebuilt with ``CleanParams(**that_dict)``.

    Args:
        image_size: side of the square output image, in pixels.
        threshold: gray levels below this count as ink; lighter pixels become white paper.
        max_speck_area: an ink component of at most this many pixels is a speck...
        max_speck_extent: ...when it is also at most this many pixels wide and tall. Both must
            hold, so thin bonds (long) and atom labels (several pixels across) survive.
        margin: white border kept around the drawing in the output, in pixels.
        sharpen: unsharp-mask strength after resizing (0 turns it off); restores the contrast
            that area resampling takes from one-pixel lines.
        max_input_side: larger inputs are first shrunk to this side, bounding time and memory.
        turn_portrait: turn drawings taller than wide a quarter turn to landscape (the
            captioner's habit from the BMS scans, which come in any orientation). Patent text
            is upright: the graph recogniser reads 36 of uspto-300's 51 portrait drawings
            upright, 25 turned (BENCHMARKS.md), so its configs keep them as drawn.
    """

    image_size: int = 256
    threshold: int = 200
    max_speck_area: int = 2
    max_speck_extent: int = 2
    margin: int = 4
    sharpen: float = 1.0
    max_input_side: int = 3000
    turn_portrait: bool = True

    def __post_init__(self) -> None:
        if self.image_size <= 2 * self.margin or self.margin < 0:
            raise ValueError(
                f"image_size ({self.image_size}) must exceed twice the margin ({self.margin})"
            )
        if not 0 < self.threshold <= WHITE:
            raise ValueError(f"threshold must be within 1..255, not {self.threshold}")
        if self.max_input_side < self.image_size or self.sharpen < 0:
            raise ValueError("max_input_side must be >= image_size and sharpen >= 0")


class ImageError(ValueError):
    """An image that cannot be used.

    ``reason`` is a short phrase for counting (``"missing file"``, ``"zero-byte file"``,
    ``"unreadable image"``, ``"empty image"``, ``"image too large: W x H px"``: the kind is
    what comes before a colon); the message is one line: reason and path.
    """

    def __init__(self, reason: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(f"{reason}: {path}" if path is not None else reason)
        self.reason = reason


# Decoding every channel at full depth costs up to 8 bytes a pixel (16-bit RGBA): fine for a
# scan, not for a 10000 x 10000 page. Larger images are decoded straight to 8-bit gray (1 byte a
# pixel, no alpha), and beyond MAX_PIXELS not at all: a tiny file can claim a huge image.
FULL_DECODE_PIXELS = 4096 * 4096
MAX_PIXELS = 2**27  # 134 M pixels: a 10000 x 10000 page passes


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """The image at ``path`` as (H, W) uint8 gray: 8/16-bit, gray/RGB/RGBA, PNG/JPEG/...

    Transparent pixels are composited on white paper. Images over ``FULL_DECODE_PIXELS`` are
    decoded directly to 8-bit gray, so memory stays near one byte a pixel.

    Raises:
        ImageError: missing file, zero-byte file, not a readable image (truncated, text, ...),
            an empty image (one uniform colour: nothing is drawn), or an image too large: over
            ``MAX_PIXELS``, or transparent and over ``FULL_DECODE_PIXELS``.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError("missing file", path)
    if path.stat().st_size == 0:
        raise ImageError("zero-byte file", path)
    flag = decode_flag(path)
    try:
        image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), flag)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        gray = _pillow_gray(path)  # GIF, and what this OpenCV build lacks a decoder for
    else:
        gray = to_gray_uint8(image)
    if gray.min() == gray.max():
        raise ImageError("empty image", path)
    return gray


def _pillow_gray(path: Path) -> np.ndarray:
    """The image at ``path`` decoded by Pillow (its first frame), as gray uint8.

    Raises:
        ImageError: Pillow cannot read it either.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return gray_from_pil(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError("unreadable image", path) from error


def gray_from_pil(image: Any) -> np.ndarray:
    """A Pillow image of any mode (palette, CMYK, 16-bit, with alpha, ...) as (H, W) uint8
    gray; transparent pixels become white paper. Reads every frame's first: a GIF's first."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: scaled, never clipped
        array = np.asarray(image)
        if array.dtype.kind == "i":
            array = np.clip(array, 0, 65535).astype(np.uint16)
        return to_gray_uint8(array)
    if image.mode == "F":
        return to_gray_uint8(np.asarray(image))
    transparent = "A" in image.getbands() or "transparency" in image.info
    if not transparent:
        return np.asarray(image.convert("L"))
    rgba = np.asarray(image.convert("RGBA"))
    return to_gray_uint8(np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]]))  # OpenCV's BGRA


def decode_flag(path: Path) -> int:
    """How to decode ``path``, chosen from its header (every channel, or straight to gray).

    Raises ImageError when the image is too large to decode at all.
    """
    header = image_header(path)
    if header is None:  # a format Pillow does not know: OpenCV may, or it is not an image
        return cv2.IMREAD_UNCHANGED
    (width, height), transparent = header
    pixels = width * height
    if pixels <= FULL_DECODE_PIXELS:
        return cv2.IMREAD_UNCHANGED
    # Gray decoding drops alpha: a transparent page would come out black, so refuse it.
    if pixels > MAX_PIXELS or transparent:
        kind = "transparent image" if transparent and pixels <= MAX_PIXELS else "image"
        raise ImageError(f"{kind} too large: {width} x {height} px", path)
    return cv2.IMREAD_GRAYSCALE


def image_header(path: Path) -> tuple[tuple[int, int], bool] | None:
    """``((width, height), has transparency)`` from the file's header alone, or None when
    Pillow does not recognise the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # the size is checked here, against MAX_PIXELS
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                transparent = "A" in image.mode or "transparency" in image.info
                return image.size, transparent
    except Image.DecompressionBombError:
        raise ImageError("image too large", path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded image as (H, W) uint8 gray; transparent pixels become white paper.

    OpenCV's saturating uint8 arithmetic throughout: no float copy of the whole image.
    """
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=WHITE / 65535)
    elif image.dtype != np.uint8:
        peak = np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0
        image = np.clip(image.astype(np.float32) * (WHITE / peak), 0, WHITE).round()
        image = image.astype(np.uint8)
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gray = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY) if channels == 4 else image[:, :, 0]
    if channels not in (2, 4):
        return np.ascontiguousarray(gray)
    # Over white paper: 255 - alpha * (255 - gray); gray is linear in the colour channels.
    alpha = cv2.extractChannel(image, channels - 1)
    ink = cv2.multiply(cv2.subtract(np.full_like(alpha, WHITE), gray), alpha, scale=1 / WHITE)
    return cv2.subtract(np.full_like(alpha, WHITE), ink)


def clean(gray: np.ndarray, params: CleanParams = CleanParams()) -> np.ndarray:
    """The drawing in ``gray`` (H, W) uint8, prepared for the model: (S, S) uint8.

    Steps: shrink huge inputs, despeckle, crop to the ink, turn portrait to landscape (unless
    ``params.turn_portrait`` is False), resize
    keeping the aspect ratio, stretch the contrast so the darkest ink is black, sharpen, pad to
    a centred square on white paper.

    Raises:
        ImageError: nothing but specks (or nothing at all) is drawn.
    """
    image, _ = clean_with_transform(gray, params)
    return image


def clean_with_transform(
    gray: np.ndarray, params: CleanParams = CleanParams()
) -> tuple[np.ndarray, np.ndarray]:
    """``clean(gray, params)`` and the (2, 3) float64 affine matrix of its geometry.

    The matrix maps a point of ``gray`` to where ``clean`` put it: ``matrix @ (x, y, 1)``, the
    shrinking, crop, portrait-to-landscape turn, resize and padding composed; annotations made
    at pixel positions of the input (``molgraph.MolGraph.transformed``) follow it. Points are
    pixel centres, as numpy and OpenCV index: (x, y) is the centre of column x, row y.

    Raises:
        ImageError: nothing but specks (or nothing at all) is drawn.
    """
    shrunk = shrink_to(gray, params.max_input_side)
    matrix = _resize_matrix(gray.shape, shrunk.shape)
    ink = despeckle(shrunk < params.threshold, params.max_speck_area, params.max_speck_extent)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ImageError("empty image")
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    matrix = _shift_matrix(-cols[0], -rows[0]) @ matrix
    # Ink keeps its gray level (anti-aliasing carries stroke width); the rest becomes paper.
    drawing = np.where(ink[box], shrunk[box], WHITE).astype(np.uint8)
    if params.turn_portrait and drawing.shape[0] > drawing.shape[1]:
        matrix = _anticlockwise_matrix(drawing.shape[1]) @ matrix
        drawing = cv2.rotate(drawing, cv2.ROTATE_90_COUNTERCLOCKWISE)
    fitted = fit_within(drawing, params.image_size - 2 * params.margin)
    matrix = _resize_matrix(drawing.shape, fitted.shape) @ matrix
    top, left = _pad_offsets(fitted.shape, params.image_size)
    matrix = _shift_matrix(left, top) @ matrix
    image = pad_to_square(unsharp(stretch_contrast(fitted), params.sharpen), params.image_size)
    return image, matrix[:2]


def _shift_matrix(dx: float, dy: float) -> np.ndarray:
    """(3, 3): points moved by (dx, dy), as a crop or a pad moves them."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _anticlockwise_matrix(width: int) -> np.ndarray:
    """(3, 3): a quarter turn anticlockwise of an image ``width`` wide: (x, y) -> (y, W-1-x)."""
    return np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, width - 1.0], [0.0, 0.0, 1.0]])


def _resize_matrix(before: tuple[int, ...], after: tuple[int, ...]) -> np.ndarray:
    """(3, 3): how ``cv2.resize`` from shape ``before`` to ``after`` moves pixel centres.

    OpenCV aligns pixel edges, not centres: x' = (x + 0.5) * scale - 0.5 on each axis, with the
    scale of that axis (the two differ a little, sizes being rounded).
    """
    sy, sx = after[0] / before[0], after[1] / before[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def shrink_to(gray: np.ndarray, max_side: int) -> np.ndarray:
    """``gray`` scaled down (keeping its aspect ratio) so that no side exceeds ``max_side``."""
    scale = max_side / max(gray.shape)
    if scale >= 1:
        return gray
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def despeckle(ink: np.ndarray, max_area: int, max_extent: int) -> np.ndarray:
    """``ink`` (bool, H x W) without the connected components that are both tiny and compact."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = (area > max_area) | (extent > max_extent)
    keep[0] = False  # label 0 is the paper
    return keep[labels]


def fit_within(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` resized so that its longer side is ``side``, keeping its aspect ratio.

    Shrinking averages areas (thin lines fade but never vanish); enlarging is cubic.
    """
    scale = side / max(gray.shape)
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, size, interpolation=interpolation)


def stretch_contrast(gray: np.ndarray) -> np.ndarray:
    """``gray`` with its darkest pixel made black and white kept white, linearly between.

    Strong shrinking averages a thin stroke with the paper around it (a 2 px line shrunk 20
    times is 95 % white); this gives it back full contrast. A no-op when black is present.
    """
    darkest = int(gray.min())
    if darkest == 0 or darkest == WHITE:
        return gray
    levels = np.arange(WHITE + 1, dtype=np.float32)
    table = np.clip(WHITE - (WHITE - levels) * (WHITE / (WHITE - darkest)), 0, WHITE)
    return cv2.LUT(gray, table.round().astype(np.uint8))


def unsharp(gray: np.ndarray, amount: float) -> np.ndarray:
    """Unsharp mask: ``gray + amount * (gray - blur(gray))``, saturated to uint8."""
    if amount <= 0:
        return gray
    blurred = cv2.GaussianBlur(gray, (0, 0), sigmaX=1.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.addWeighted(gray, 1.0 + amount, blurred, -amount, 0)


def pad_to_square(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` (at most ``side`` on each axis) centred on a white ``side`` x ``side`` canvas."""
    canvas = np.full((side, side), WHITE, dtype=np.uint8)
    top, left = _pad_offsets(gray.shape, side)
    canvas[top : top + gray.shape[0], left : left + gray.shape[1]] = gray
    return canvas


def _pad_offsets(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    """(top, left): where ``pad_to_square`` puts an image of ``shape`` on its canvas."""
    return (side - shape[0]) // 2, (side - shape[1]) // 2
