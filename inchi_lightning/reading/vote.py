"""The scale vote: an image read again at the sides its bonds ask for, the readings weighed.

Real drawings of large molecules come out smaller than any training drawing once cleaned to the
trained side, small ones larger; one side is a guess from one reading. The first reading's
median bond says which side would bring the bonds to the trained length; the sides nearest it
are read, and each reading's InChI gets a weight: how near its own bonds come to that length
times its confidence. A graph without bonds (``MolGraph.bond_length`` 0) has no scale to
tell and no say in the vote. Plain functions of numbers and strings, so that other rules can be
replayed over stored readings.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where an image may be read, as shares of the trained side: 32 px apart at 192. Real drawings
# of large molecules come out smaller than any training drawing, small ones larger.
READING_SCALES = (1 / 2, 2 / 3, 5 / 6, 7 / 6, 4 / 3, 3 / 2, 5 / 3, 11 / 6, 2.0)
SCALE_VOTERS = 5  # the sides an unsure image is read at, around the one its bonds ask for


def reading_sides(side: int) -> tuple[int, ...]:
    """The other sides an image may be cleaned at: 1/2 to 2 times ``side``, multiples of 32."""
    return tuple(sorted({32 * round(side * scale / 32) for scale in READING_SCALES} - {side}))


def voting_sides(bond_length: float, target: float, sides: list[int], voters: int) -> list[int]:
    """The ``voters`` sides nearest the one that brings a median bond of ``bond_length`` px at
    ``sides[0]`` (the trained side) to ``target``, nearest first (``sides[0]`` for a graph
    without bonds: ``bond_length`` 0)."""
    wanted = sides[0] * target / bond_length if bond_length else sides[0]
    best = min(sides, key=lambda side: abs(side - wanted))
    return sorted(sides, key=lambda side: (abs(side - best), side))[:voters]


def scale_vote(
    inchis: list[str], confidences: list[float], bond_lengths: list[float], target: float
) -> int:
    """The index of the reading whose InChI has most weight among one image's readings at
    several sides: each counts as much as its median bond comes near ``target`` (``min(b / t,
    t / b)``; nothing without bonds) times its confidence. Ties go to the first; the index is
    the first reading of the winning InChI."""
    totals: dict[str, float] = {}
    for inchi, confidence, length in zip(inchis, confidences, bond_lengths, strict=True):
        weight = min(length / target, target / length) * confidence if length else 0.0
        totals[inchi] = totals.get(inchi, 0.0) + weight
    return inchis.index(max(totals, key=totals.__getitem__))


@dataclass(frozen=True)
class VoteGate:
    """Which readings stand alone, unread at other sides.

    The vote reads an image at five more sides, most of them larger than the trained one: about
    eight times the pixels of one reading. A reading is sure enough to stand when RDKit accepted
    it, its weakest atom or bond is at least ``confidence`` sure, and its median bond is within
    ``bond_ratio`` of the trained length either way (a drawing cleaned far from the trained
    scale is the vote's case). On the real development benchmark no bound saves much of the
    vote's work without losing drawings (``bench/reading_gate.py``; BENCHMARKS.md): the
    readings' confidence tells right from wrong only weakly. So every image is voted on unless
    a user trades accuracy for speed.

    Args:
        mode: ``always`` votes on every image (the default); ``auto`` only where a reading is
            unsure: first the trained side's, then the one at the side its bonds ask for;
            ``never`` reads the trained side only.
        confidence: the least confidence of a reading that stands alone (``auto``).
        bond_ratio: the most its median bond may differ from the trained length, as a ratio.
    """

    mode: str = "always"
    confidence: float = 0.8
    bond_ratio: float = 1.5

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "always", "never"):
            raise ValueError(f"vote mode is auto, always or never, not {self.mode!r}")

    def votes(self, valid: bool, confidence: float, bond_length: float, target: float) -> bool:
        """Whether a first reading with these properties goes to the vote."""
        if self.mode != "auto":
            return self.mode == "always"
        if not valid or confidence < self.confidence or not bond_length:
            return True
        ratio = bond_length / target
        return not 1 / self.bond_ratio <= ratio <= self.bond_ratio
