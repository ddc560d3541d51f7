"""A read molecule drawn over its image, for people to look at (TensorBoard, reports).

Bonds are lines coloured by kind, atoms dots coloured by class, with the label of every atom
that is not a carbon written beside it; the image itself is dimmed so the marks stand out.
"""

from __future__ import annotations

import cv2
import numpy as np

from inchi_lightning.chemistry.molgraph import MolGraph

# RGB. Plain bonds blue, multiple bonds green shades, stereo marks orange/red, unknown purple.
BOND_COLOURS: dict[str, tuple[int, int, int]] = {
    "single": (40, 90, 230),
    "double": (0, 170, 60),
    "triple": (0, 110, 40),
    "aromatic": (0, 190, 190),
    "wedge": (240, 140, 0),
    "hash": (220, 40, 40),
    "wavy": (150, 60, 200),
    "crossed": (150, 60, 200),
}
CARBON = (40, 40, 40)
HETEROATOM = (220, 0, 120)


def draw_graph(image: np.ndarray, graph: MolGraph) -> np.ndarray:
    """(H, W, 3) uint8 RGB: gray ``image`` (H, W) lightened, ``graph`` drawn in its pixels."""
    canvas = cv2.cvtColor((155 + image.astype(np.uint16) * 100 // 255).astype(np.uint8),
                          cv2.COLOR_GRAY2RGB)  # fmt: skip
    scale = max(image.shape) / 256  # marks keep their size relative to the image
    thickness, radius = max(1, round(1.5 * scale)), max(1, round(2.5 * scale))
    points = [(round(atom.x), round(atom.y)) for atom in graph.atoms]
    for bond in graph.bonds:
        colour = BOND_COLOURS.get(bond.kind, BOND_COLOURS["single"])
        cv2.line(canvas, points[bond.begin], points[bond.end], colour, thickness, cv2.LINE_AA)
    for atom, point in zip(graph.atoms, points, strict=True):
        colour = CARBON if atom.symbol == "C" else HETEROATOM
        cv2.circle(canvas, point, radius, colour, -1, cv2.LINE_AA)
        if atom.symbol != "C" or atom.charge:
            text = atom.symbol + {-1: "-", 0: "", 1: "+"}.get(atom.charge, "?")
            cv2.putText(canvas, text, (point[0] + radius, point[1] - radius),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.3 * scale, colour, 1, cv2.LINE_AA)  # fmt: skip
    return canvas
