"""Scan damage: how a clean RDKit drawing is spoilt to look like a BMS scan (blur, binarise,
knocked-out ink, broken strokes, specks, quarter turns), or only binarised like a patent page.

Small pure functions on (H, W) uint8 images, ink 0 on paper 255; every random choice comes from
the generator passed in, so the same generator state gives the same pixels.

Only the quarter turns move pixels; ``apply_damage_with_transform`` gives the 2x3 affine matrix
that moves points the same way, so that what was recorded at pixel positions of the drawing (an
annotation, ``molgraph.MolGraph.transformed``) follows the image. Points use the pixel-centre
convention of numpy and OpenCV: (x, y) is the centre of the pixel in column x, row y. One
anticlockwise quarter turn of an H x W image (it becomes W x H) maps (x, y) to (y, W - 1 - x):
the top right corner pixel (W - 1, 0) lands at the top left (0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INK = 0
PAPER = 255

# Fraction of images turned by a quarter turn, as many BMS test images are.
ROTATED_FRACTION = 0.1


@dataclass(frozen=True)
class Damage:
    """How one drawing is spoilt to look like a BMS scan."""

    blur_sigma: float  # Gaussian blur before binarising; 0 = none
    threshold: int  # gray values below become ink
    ink_dropout: float  # fraction of ink pixels knocked out to paper
    stroke_breaks: int  # gaps cut into lines
    break_radius: int  # pixels
    speck_density: float  # black specks per pixel of the image
    quarter_turns: int  # anticlockwise 90-degree turns, 0 to 3


def random_damage(rng: np.random.Generator) -> Damage:
    """Damage in the ranges seen in the BMS training images."""
    return Damage(
        blur_sigma=float(rng.uniform(0.3, 0.8)) if rng.random() < 0.3 else 0.0,
        threshold=int(rng.integers(150, 236)),
        ink_dropout=float(rng.uniform(0.0, 0.03)),
        stroke_breaks=int(rng.integers(0, 4)),
        break_radius=int(rng.integers(1, 3)),
        speck_density=float(rng.uniform(0.0, 8e-4)),
        quarter_turns=int(rng.choice([1, 3])) if rng.random() < ROTATED_FRACTION else 0,
    )


def random_patent_damage(rng: np.random.Generator) -> Damage:
    """Damage of a clean patent drawing: binarised, at most lightly blurred, nothing else."""
    return Damage(
        blur_sigma=float(rng.uniform(0.3, 0.6)) if rng.random() < 0.2 else 0.0,
        threshold=int(rng.integers(128, 200)),
        ink_dropout=0.0,
        stroke_breaks=0,
        break_radius=1,
        speck_density=0.0,
        quarter_turns=0,
    )


def blur(gray: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``gray`` (a copy when ``sigma`` is 0): thickens thin strokes."""
    if sigma <= 0:
        return gray.copy()
    return cv2.GaussianBlur(gray, ksize=(0, 0), sigmaX=sigma)


def binarise(gray: np.ndarray, threshold: int) -> np.ndarray:
    """Pixels darker than ``threshold`` become ink (0), the rest paper (255)."""
    return np.where(gray < threshold, INK, PAPER).astype(np.uint8)


def _pick_pixels(image: np.ndarray, value: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of ``count`` distinct pixels equal to ``value`` (fewer if there are fewer)."""
    candidates = np.flatnonzero(image == value)
    return rng.choice(candidates, size=min(count, candidates.size), replace=False)


def add_specks(image: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of binary ``image`` with ``count`` paper pixels turned to ink (fewer if full)."""
    specked = image.copy()
    specked.flat[_pick_pixels(image, PAPER, count, rng)] = INK
    return specked


def drop_ink_pixels(image: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of binary ``image`` with ``fraction`` of its ink pixels turned to paper."""
    count = round(fraction * int(np.count_nonzero(image == INK)))
    dropped = image.copy()
    dropped.flat[_pick_pixels(image, INK, count, rng)] = PAPER
    return dropped


def break_strokes(
    image: np.ndarray, count: int, radius: int, rng: np.random.Generator
) -> np.ndarray:
    """A copy of binary ``image`` with ``count`` paper discs of ``radius`` centred on ink pixels.

    On the one- or two-pixel lines of a scan each disc cuts a gap into a stroke.
    """
    broken = image.copy()
    width = image.shape[1]
    for centre in _pick_pixels(image, INK, count, rng):
        y, x = divmod(int(centre), width)
        cv2.circle(broken, center=(x, y), radius=radius, color=PAPER, thickness=-1)
    return broken


def rotate_quarter_turns(image: np.ndarray, turns: int) -> np.ndarray:
    """``image`` turned anticlockwise by ``turns`` right angles (height and width swap if odd)."""
    return np.ascontiguousarray(np.rot90(image, k=turns))


def quarter_turn_matrix(turns: int, height: int, width: int) -> np.ndarray:
    """(2, 3) float64: the affine map of pixel centres that ``rotate_quarter_turns(image,
    turns)`` applies to an ``height`` x ``width`` image (see the module docstring)."""
    matrix = np.eye(3)
    for _ in range(turns % 4):
        # (x, y) -> (y, W - 1 - x); the turned image is W high and H wide, for the next turn.
        turn = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, width - 1.0], [0.0, 0.0, 1.0]])
        matrix = turn @ matrix
        height, width = width, height
    return matrix[:2]


def apply_damage(gray: np.ndarray, damage: Damage, rng: np.random.Generator) -> np.ndarray:
    """A clean gray drawing turned into a binary BMS-like scan."""
    image, _ = apply_damage_with_transform(gray, damage, rng)
    return image


def apply_damage_with_transform(
    gray: np.ndarray, damage: Damage, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``apply_damage(gray, damage, rng)`` and the (2, 3) matrix by which it moved the pixels.

    The same generator state gives the same pixels as ``apply_damage``.
    """
    image = binarise(blur(gray, damage.blur_sigma), damage.threshold)
    image = drop_ink_pixels(image, damage.ink_dropout, rng)
    image = break_strokes(image, damage.stroke_breaks, damage.break_radius, rng)
    image = add_specks(image, int(rng.poisson(damage.speck_density * image.size)), rng)
    matrix = quarter_turn_matrix(damage.quarter_turns, *image.shape)
    return rotate_quarter_turns(image, damage.quarter_turns), matrix
