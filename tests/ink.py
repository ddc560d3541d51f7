"""Helpers for tests that check annotations against the pixels they annotate."""

import numpy as np


def darkest_near(image: np.ndarray, x: float, y: float, radius: int) -> int:
    """The darkest gray level within ``radius`` pixels (a square) of point (x, y)."""
    col, row = round(x), round(y)
    window = image[max(row - radius, 0) : row + radius + 1, max(col - radius, 0) : col + radius + 1]
    return int(window.min())
