"""The graph recogniser's reading: gray images in, molecules out, read again only where unsure.

Each image is cleaned at the trained side and read (network, peaks and pairs decoded into a
``MolGraph``, RDKit); a reading that ``VoteGate`` finds unsure is read again at the sides its
bonds ask for, and those readings vote (``vote.py``). Atom positions go back to the input
image's pixels through ``clean_with_transform``'s matrix, so a reading's mol file is drawn where
the input drew it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from inchi_lightning.chemistry.molecule import GraphReading, molecule_from_graph
from inchi_lightning.chemistry.molgraph import (
    ATOM_SYMBOLS,
    CHARGES,
    PAIR_CLASSES,
    GraphAtom,
    MolGraph,
    bond_from_pair,
    reversed_pair_class,
)
from inchi_lightning.imaging import CleanParams, ImageError, clean_with_transform
from inchi_lightning.network.encoder import EncoderConfig, ink
from inchi_lightning.network.folding import fold_batch_norms
from inchi_lightning.network.graph import (
    DecodedGraph,
    DecodeSettings,
    GraphNetConfig,
    GraphRecognizer,
    decode_graph,
)
from inchi_lightning.reading.readings import Reading
from inchi_lightning.reading.vote import (
    SCALE_VOTERS,
    VoteGate,
    reading_sides,
    scale_vote,
    voting_sides,
)

# The class whose repeated peaks are dropped beside an atom of any class (network.graph's
# separate_atoms): a hash's wide end and the letters of a label make carbon peaks.
CARBON_CLASS = ATOM_SYMBOLS.index("C")


def network_config(encoder: EncoderConfig | None, **sizes: Any) -> GraphNetConfig:
    """The network for this project's class lists (``molgraph``)."""
    return GraphNetConfig(
        num_atom_classes=len(ATOM_SYMBOLS),
        num_charges=len(CHARGES),
        num_bond_classes=len(PAIR_CLASSES),
        reversed_bond_classes=[reversed_pair_class(c) for c in range(len(PAIR_CLASSES))],
        encoder=encoder or EncoderConfig(name="resnet18"),
        **sizes,
    )


def decode_settings(threshold: float, atom_separation: float) -> DecodeSettings:
    """How a release's maps become atoms and bonds, from its reading hyperparameters."""
    return DecodeSettings(threshold=threshold, separation=atom_separation, plain_class=CARBON_CLASS)


def graph_of(decoded: DecodedGraph) -> MolGraph:
    """The ``MolGraph`` a decoding says, with each part's confidence as its score."""
    atoms = decoded.atoms
    graph_atoms = [
        GraphAtom(x, y, ATOM_SYMBOLS[symbol], CHARGES[charge], score)
        for (x, y), symbol, charge, score in zip(
            atoms.xy.tolist(),
            atoms.classes.tolist(),
            atoms.charges.tolist(),
            atoms.scores.clamp(0, 1).tolist(),
            strict=True,
        )
    ]
    bonds = decoded.bonds
    graph_bonds = [
        bond_from_pair(i, j, kind, score)
        for (i, j), kind, score in zip(
            bonds.pairs.tolist(), bonds.classes.tolist(), bonds.scores.tolist(), strict=True
        )
    ]
    return MolGraph(graph_atoms, [b for b in graph_bonds if b is not None])


def read_graphs(
    net: GraphRecognizer, images: torch.Tensor, settings: DecodeSettings, bf16: bool = False
) -> list[MolGraph]:
    """The graph each (B, 1, S, S) uint8 image draws, in its pixels (``net`` in eval mode).

    ``bf16`` runs the network in bfloat16 on the CPU (autocast): decoding reads its maps in
    float32 either way. Images go in channels-last, the layout oneDNN's convolutions run
    fastest on (the network's weights should be in it too: ``GraphImageReader`` puts them)."""
    inputs = ink(images).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        decoded = decode_graph(net, inputs, settings)
    return [graph_of(d) for d in decoded]


@dataclasses.dataclass(frozen=True)
class SideReading:
    """One image's reading at one side: its median bond there (the vote's scale), the graph in
    the input image's pixels, and the molecule it draws."""

    bond_length: float
    drawn: MolGraph
    molecule: GraphReading


class GraphImageReader:
    """Reads gray images with a graph recogniser network and its release's settings.

    Args:
        net: the network.
        clean_params: how its training images were cleaned.
        settings: how its maps become atoms and bonds.
        target_bond_length: the training drawings' median bond at the trained side (px); 0:
            the trained side only, no vote.
        gate: which first readings are read again at other sides and voted on.
        bf16: run the network in bfloat16 (CPUs with native bf16 arithmetic).
        map_images: how cleaning is mapped over a batch's images (a thread pool's ``map``
            cleans them in parallel; OpenCV releases the GIL); the built-in ``map`` when None.
    """

    def __init__(
        self,
        net: GraphRecognizer,
        clean_params: CleanParams,
        settings: DecodeSettings,
        target_bond_length: float,
        gate: VoteGate = VoteGate(),
        bf16: bool = False,
        map_images: Callable | None = None,
    ) -> None:
        # Batch norms folded into their convolutions, and channels-last, the layout oneDNN's
        # convolutions prefer: on the AVX-512 CPUs this is developed on, the network alone ran
        # 1.3x faster in fp32 and 1.8x in bf16 at 256 px than in the default layout.
        self.net = fold_batch_norms(net.eval()).to(memory_format=torch.channels_last)
        self.clean_params = clean_params
        self.settings = settings
        self.target = target_bond_length
        self.gate = gate
        self.bf16 = bf16
        self.map = map_images or map
        self.side = clean_params.image_size
        self.other_sides = reading_sides(self.side) if target_bond_length else ()

    def read_cleaned(self, images: torch.Tensor) -> list[Reading]:
        """Readings of (B, 1, S, S) uint8 images cleaned already (a shard split), as they are."""
        graphs = read_graphs(self.net, images, self.settings, self.bf16)
        return [Reading.of_graph(molecule_from_graph(g), g) for g in graphs]

    def read(self, grays: Sequence[np.ndarray]) -> list[Reading]:
        """One reading per (H, W) uint8 gray image, in order; an image with nothing drawn but
        specks gets its error instead.

        Three steps, each only for the images the one before left unsure (``VoteGate``): the
        trained side; the side that brings the first reading's bonds to the trained length;
        the other voting sides around it, and the vote (``choose``)."""
        firsts, sides = self._read_firsts(grays)
        voters = {
            index: self._voting_sides(by_side[self.side])
            for index, by_side in enumerate(sides)
            if by_side and self.unsure(by_side[self.side])
        }
        self._read_more(grays, sides, {index: sides_[:1] for index, sides_ in voters.items()})
        still_unsure = {
            index: voting
            for index, voting in voters.items()
            if self.unsure(sides[index].get(voting[0], sides[index][self.side]))
        }
        self._read_more(grays, sides, still_unsure)
        readings = []
        for index, first in enumerate(firsts):
            if isinstance(first, ImageError):
                readings.append(Reading.failed(first.reason))
                continue
            chosen = self.choose(voters.get(index, []), sides[index])
            readings.append(Reading.of_graph(chosen.molecule, chosen.drawn))
        return readings

    def choose(self, voters: list[int], by_side: dict[int, SideReading]) -> SideReading:
        """The reading ``read`` keeps of one image's readings ``by_side``: the trained side's
        if it is sure, else the one at the side its bonds ask for (``voters[0]``) if that is
        sure, else the vote of the voting sides read. ``read`` reads just the sides this needs;
        given every side (``side_readings``), it replays ``read`` for any gate."""
        first = by_side[self.side]
        if not self.unsure(first):
            return first
        best = by_side.get(voters[0], first)
        if not self.unsure(best):
            return best
        return self._vote([by_side[s] for s in voters if s in by_side] or [first])

    def side_readings(
        self, grays: Sequence[np.ndarray]
    ) -> list[tuple[list[int], dict[int, SideReading]] | ImageError]:
        """Every image read at the trained side and at all its voting sides, whatever the gate:
        (the voting sides, nearest the wanted one first; the readings by side). For replaying
        gates and votes over one set of readings (``choose``, ``bench/reading_gate.py``)."""
        firsts, sides = self._read_firsts(grays)
        voters = {
            index: self._voting_sides(by_side[self.side])
            for index, by_side in enumerate(sides)
            if by_side
        }
        self._read_more(grays, sides, voters)
        return [
            (voters[index], sides[index]) if index in voters else first
            for index, first in enumerate(firsts)
        ]

    def _read_firsts(
        self, grays: Sequence[np.ndarray]
    ) -> tuple[list[SideReading | ImageError], list[dict[int, SideReading]]]:
        """Every image read at the trained side, and each one's readings by side so far."""
        firsts = self._read_at(self.side, grays)
        return firsts, [{self.side: f} if isinstance(f, SideReading) else {} for f in firsts]

    def unsure(self, reading: SideReading) -> bool:
        """Whether the gate reads an image further after ``reading`` (never without other
        sides to read)."""
        if not self.other_sides:
            return False
        molecule = reading.molecule
        return self.gate.votes(
            molecule.valid, molecule.confidence, reading.bond_length, self.target
        )

    def _voting_sides(self, first: SideReading) -> list[int]:
        sides = [self.side, *self.other_sides]
        return voting_sides(first.bond_length, self.target, sides, SCALE_VOTERS)

    def _read_more(
        self,
        grays: Sequence[np.ndarray],
        sides: list[dict[int, SideReading]],
        wanted: dict[int, list[int]],
    ) -> None:
        """Each image of ``wanted`` read at the sides it lists that ``sides`` has no reading
        at yet, batched by side, into ``sides``."""
        by_side: dict[int, list[int]] = {}
        for index, wanted_sides in wanted.items():
            for side in wanted_sides:
                if side not in sides[index]:
                    by_side.setdefault(side, []).append(index)
        for side, rows in sorted(by_side.items()):
            read = self._read_at(side, [grays[i] for i in rows])
            for index, reading in zip(rows, read, strict=True):
                if isinstance(reading, SideReading):
                    sides[index][side] = reading

    def _read_at(self, side: int, grays: Sequence[np.ndarray]) -> list[SideReading | ImageError]:
        """Every image cleaned to ``side`` and read there (an ImageError where cleaning fails)."""
        params = dataclasses.replace(self.clean_params, image_size=side)
        cleaned = list(self.map(lambda gray: _clean(gray, params), grays))
        images = [c[0] for c in cleaned if not isinstance(c, ImageError)]
        if not images:
            return cleaned
        batch = torch.from_numpy(np.stack(images))[:, None]  # (B, 1, side, side)
        graphs = iter(read_graphs(self.net, batch, self.settings, self.bf16))
        out: list[SideReading | ImageError] = []
        for item in cleaned:
            if isinstance(item, ImageError):
                out.append(item)
                continue
            graph = next(graphs)
            drawn = graph.transformed(_inverse(item[1]))
            out.append(SideReading(graph.bond_length, drawn, molecule_from_graph(drawn)))
        return out

    def _vote(self, readings: list[SideReading]) -> SideReading:
        """The reading whose InChI the weighted votes choose (``scale_vote``)."""
        if len(readings) == 1:
            return readings[0]
        winner = scale_vote(
            [r.molecule.inchi for r in readings],
            [r.molecule.confidence for r in readings],
            [r.bond_length for r in readings],
            self.target,
        )
        return readings[winner]


def _clean(gray: np.ndarray, params: CleanParams) -> tuple[np.ndarray, np.ndarray] | ImageError:
    try:
        return clean_with_transform(gray, params)
    except ImageError as error:
        return error


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """The (2, 3) affine matrix undoing ``matrix`` (2, 3)."""
    full = np.vstack([matrix, (0.0, 0.0, 1.0)])
    return np.linalg.inv(full)[:2]
