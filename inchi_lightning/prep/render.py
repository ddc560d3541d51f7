"""How one planned image looks: its style kind, style, damage and caption, all drawn from the
dataset's seed and the image's index, then the image itself with the molecule as drawn in it.

synth.py plans a dataset and runs these in worker processes; anything that must see the very
image a plan entry was drawn as (bench/graph_eval.py's style split, the annotation tests) asks
here with the same seed and index.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from inchi_lightning.chemistry.inchi import mol_from_smiles
from inchi_lightning.prep import captions, drawing, styles
from inchi_lightning.prep.damage import (
    Damage,
    apply_damage_with_transform,
    random_damage,
    random_patent_damage,
)

# Independent random streams derived from the seed (0 and 1 choose the molecules: molecules.py).
_IMAGE_STREAM = 2
_STYLE_KIND_STREAM = 3  # its own stream: a patent fraction of 0 leaves every other draw as it was

# Patent drawings that carry a compound number or name beside the molecule (captions.py).
CAPTIONED_FRACTION = 0.15


def style_kind(seed: int, index: int, patent_fraction: float) -> styles.StyleKind:
    """Whether plan entry ``index`` is drawn as a BMS scan or a patent drawing.

    Depends only on its arguments; the patent images of a fraction are among those of any
    larger fraction.
    """
    if patent_fraction <= 0.0:
        return "bms"
    draw = np.random.default_rng([seed, _STYLE_KIND_STREAM, index]).random()
    return "patent" if draw < patent_fraction else "bms"


def render_image(smiles: str, seed: int, index: int, patent_fraction: float = 0.0) -> np.ndarray:
    """The damaged image of plan entry ``index``: the same pixels for the same arguments.

    Raises ``ValueError`` when RDKit cannot parse or draw ``smiles``.
    """
    return render_annotated(smiles, seed, index, patent_fraction).image


def render_annotated(
    smiles: str, seed: int, index: int, patent_fraction: float = 0.0
) -> drawing.DrawnMolecule:
    """``render_image``'s image and the molecule as drawn in it, in its final pixels.

    The graph has followed every turn the drawing and the damage made (``graph`` is None, with
    the ``problem``, when the drawing cannot be recorded). Raises ``ValueError`` as
    ``render_image`` does.
    """
    mol = mol_from_smiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse {smiles}")
    style, damage, caption, rng = recipe(mol, seed, index, patent_fraction)
    drawn = drawing.draw_with_graph(mol, style)
    if caption is not None:
        text, side = caption
        font = styles.font_path(style.font)
        drawn = captions.add_caption(drawn, text, font, style.font_size, side)
    image, matrix = apply_damage_with_transform(drawn.image, damage, rng)
    return drawn.transformed(image, matrix)


def recipe(
    mol: Chem.Mol, seed: int, index: int, patent_fraction: float
) -> tuple[styles.DrawStyle, Damage, tuple[str, str] | None, np.random.Generator]:
    """How plan entry ``index`` is drawn and damaged, its caption (text, side) if it has one,
    and the generator the damage goes on with."""
    kind = style_kind(seed, index, patent_fraction)
    rng = np.random.default_rng([seed, _IMAGE_STREAM, index])
    style = drawing.fit_canvas(mol, styles.random_style(rng, kind))
    damage = random_damage(rng) if kind == "bms" else random_patent_damage(rng)
    caption = None  # BMS scans have none: their draws stay as they were
    if kind == "patent" and rng.random() < CAPTIONED_FRACTION:
        text = captions.random_caption(rng)  # before the side: the draws keep their order
        caption = (text, captions.SIDES[int(rng.integers(len(captions.SIDES)))])
    return style, damage, caption, rng
