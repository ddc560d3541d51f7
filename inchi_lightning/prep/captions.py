"""Text beside a drawing that is no part of its molecule: compound numbers and names, as patent
figures carry them ("(12)", "Formula IIa", "Example 7").

A recogniser that has never seen such text reads it as atoms (on uspto-300 the shipped model
read "(13)" as a methyl group). ``add_caption`` writes one on a strip of paper added to a side
of the drawing, away from its ink, and moves the annotation with the drawing when the strip
goes on the left or top. Only pixels change: the molecule and its InChI stay the ones drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inchi_lightning.prep.drawing import DrawnMolecule

SIDES = ("right", "bottom", "left", "top")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def random_caption(rng: np.random.Generator) -> str:
    """A compound number or name in one of the forms patents print."""
    number = int(rng.integers(1, 300))
    roman = _ROMAN[int(rng.integers(len(_ROMAN)))] + ("", "a", "b")[int(rng.integers(3))]
    forms = (
        f"({number})",
        f"{number}",
        f"({number}{'abc'[int(rng.integers(3))]})",
        f"Formula {roman}",
        f"({roman})",
        f"Example {number}",
        f"Compound {number}",
        f"Intermediate {number}",
        f"Compound of Formula {roman}",
    )
    return forms[int(rng.integers(len(forms)))]


def add_caption(
    drawn: DrawnMolecule, text: str, font: Path | None, size: int, side: str
) -> DrawnMolecule:
    """``drawn`` with ``text`` (``size`` px, ``font``'s glyphs or PIL's own) on a strip of paper
    added at ``side`` (one of ``SIDES``), its graph moved with the drawing.

    Raises ValueError for an unknown side.
    """
    if side not in SIDES:
        raise ValueError(f"unknown caption side {side!r}; choose from {', '.join(SIDES)}")
    face = ImageFont.truetype(str(font), size) if font else ImageFont.load_default(size)
    left, top, right, bottom = face.getbbox(text)
    text_width, text_height = right - left, bottom - top
    gap = size  # paper between the molecule's canvas and the text
    height, width = drawn.image.shape
    across = side in ("left", "right")
    new_width = width + (text_width + 2 * gap if across else 0)
    new_height = height + (0 if across else text_height + 2 * gap)
    page = Image.new("L", (max(new_width, text_width + 2 * gap), new_height), 255)
    offset_x = text_width + 2 * gap if side == "left" else 0
    offset_y = text_height + 2 * gap if side == "top" else 0
    page.paste(Image.fromarray(drawn.image), (offset_x, offset_y))
    text_x = {"right": width + gap, "left": gap}.get(side, (page.width - text_width) // 2)
    text_y = {"bottom": height + gap, "top": gap}.get(side, (new_height - text_height) // 2)
    ImageDraw.Draw(page).text((text_x - left, text_y - top), text, fill=0, font=face)
    shift = np.array([[1.0, 0.0, offset_x], [0.0, 1.0, offset_y]])
    return drawn.transformed(np.asarray(page, dtype=np.uint8).copy(), shift)
