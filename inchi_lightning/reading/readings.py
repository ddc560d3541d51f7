"""``Reading``: what was read from one image, in the forms users ask for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from inchi_lightning.chemistry.molecule import GraphReading
from inchi_lightning.chemistry.molgraph import MolGraph
from inchi_lightning.imaging import ImageError

Item = TypeVar("Item")


@dataclass(frozen=True)
class Reading:
    """One image's reading.

    Attributes:
        inchi: the standard InChI; "" when nothing could be read.
        smiles: RDKit's canonical SMILES of the same molecule, stereo included; "" likewise.
        molfile: a V2000 mol block with the atoms where the reader found them, in the input
            image's pixels (x right, and y negated: mol files point y up); "" without a molecule
            or from a reader that finds no positions (the captioner).
        confidence: 0-1: the graph recogniser's weakest atom or bond; the captioner's mean token
            probability. 0 when nothing was read.
        error: why the image could not be read ("" when it was): a one-line reason.
        candidates: the reader's InChIs before post-processing, best first (the captioner's
            beam; the graph recogniser's one InChI).
        graph: the atoms and bonds read, in the input image's pixels (the graph recogniser).
    """

    inchi: str = ""
    smiles: str = ""
    molfile: str = ""
    confidence: float = 0.0
    error: str = ""
    candidates: tuple[str, ...] = ()
    graph: MolGraph | None = field(default=None, repr=False)

    @classmethod
    def failed(cls, error: str) -> Reading:
        """The reading of an image that could not be read, and why."""
        return cls(error=error)

    @classmethod
    def of_graph(cls, molecule: GraphReading, graph: MolGraph) -> Reading:
        """The reading of ``graph``, the atoms and bonds the graph recogniser found, and the
        molecule RDKit made of them."""
        return cls(
            inchi=molecule.inchi,
            smiles=molecule.smiles,
            molfile=molecule.molfile,
            confidence=molecule.confidence,
            candidates=(molecule.inchi,),
            graph=graph,
        )


def read_readable(
    items: list[Item | ImageError], read: Callable[[list[Item]], list[Reading]]
) -> list[Reading]:
    """One reading per item, in order: ``read`` of the items that are not errors, called once,
    and a failed reading for each ``ImageError`` (its reason)."""
    readable = [item for item in items if not isinstance(item, ImageError)]
    readings = iter(read(readable) if readable else [])
    return [
        Reading.failed(item.reason) if isinstance(item, ImageError) else next(readings)
        for item in items
    ]
