"""Two other ways to read an image file from the sides the scale vote reads, against the vote.

    python bench/fused_reading.py --images ~/runs/heldout190 --out fused_h190.csv \
        [--support 0.5 0.65]

``GraphReader.read_molecules`` reads an image file at the 5 sides nearest the one its bonds ask
for and lets the 5 InChIs vote: a drawing where each side misses a different atom has no right
InChI to vote for, and a charge sign too small at those sides is missed by all five.

Fused: the sides vote part by part. Every side's atoms are put in one frame (the drawing's
own: clean() centres it at ``side - 2 margin`` px), atoms of different sides within
``--radius`` median bonds of each other are one atom, and an atom is kept when the sides that
found it carry more than ``--support`` of the weight (each side's weight is the vote's:
closeness of its bonds to the trained length times its confidence). Its element and charge
are the weighted mean of the sides' class probabilities, and every candidate pair of the kept
atoms is classified at every side, the probabilities averaged with the same weights. Also
scored: the fused reading only where the vote's winner carried less than a given share of the
weight (the sides disagree), the vote's otherwise.

A closer look: the vote's graph, its atoms' charges (or classes) replaced by what two larger
sides (around 1.5 times the nearest voting side) read at the same atoms, where both find the
atom and their mean probability of another charge (class) exceeds a threshold.

One row per image: the truth, the vote's InChI (what ``evaluate`` reads), the vote's share, and
each variant's InChI; the summary says how many images each reads right.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from inchi_lightning.evaluation.labelled_set import collate_labelled, labelled_images, load_reader
from inchi_lightning.graph_chem import GraphReading, molecule_from_graph
from inchi_lightning.molgraph import ATOM_SYMBOLS, CHARGES, MolGraph
from inchi_lightning.network.graph import (
    STRIDE,
    DecodedAtoms,
    DecodedBonds,
    DecodedGraph,
    bond_radius,
    candidate_pairs,
    graphs_from_outputs,
    pair_probabilities,
)
from inchi_lightning.shipped import require_shipped_model
from inchi_lightning.training.graph_module import (
    SCALE_VOTERS,
    GraphReader,
    graph_of,
    scale_vote,
    voting_bond_length,
    voting_sides,
)
from inchi_lightning.training.module import ink


@dataclass
class SideAtoms:
    """One image's atoms as one side read them, in the drawing's frame (``frame``)."""

    side: int
    weight: float
    frame: torch.Tensor  # (K, 2): (xy - side / 2) / (side - 2 margin)
    classes: torch.Tensor  # (K, A) probabilities
    charges: torch.Tensor  # (K, Q) probabilities
    scores: torch.Tensor  # (K,) heatmap probabilities


@dataclass
class SideRead:
    """The network's maps and decoded graphs of some of a batch's images at one side."""

    outputs: dict[str, torch.Tensor]
    graphs: list[DecodedGraph]
    index: dict[int, int]  # batch row -> position in this side's sub-batch


def side_atoms(read: SideRead, row: int, side: int, margin: int, weight: float) -> SideAtoms:
    """Batch row ``row``'s atoms as ``read`` (at ``side``) found them, with ``weight``."""
    index = read.index[row]
    outputs, atoms = read.outputs, read.graphs[index].atoms
    width = outputs["heatmap_logits"].size(3)
    cells = (atoms.xy / STRIDE).floor().long().clamp(0, width - 1)

    def probabilities(name: str) -> torch.Tensor:
        return torch.softmax(outputs[name][index][:, cells[:, 1], cells[:, 0]].T.float(), dim=1)

    return SideAtoms(
        side,
        weight,
        (atoms.xy - side / 2) / (side - 2 * margin),
        probabilities("atom_logits"),
        probabilities("charge_logits"),
        atoms.scores,
    )


def fuse_atoms(sides: list[SideAtoms], radius: float, support: float) -> DecodedAtoms:
    """The atoms found by sides carrying more than ``support`` of the weight, in the frame:
    each side's atoms join, one each, the nearest atom clusters within ``radius``."""
    members: list[list[tuple[SideAtoms, int]]] = []
    centres: list[torch.Tensor] = []
    for reading in sorted(sides, key=lambda s: -s.weight):
        taken: set[int] = set()
        for k in reading.scores.argsort(descending=True).tolist():
            point = reading.frame[k]
            free = [c for c in range(len(centres)) if c not in taken]
            near = min(free, key=lambda c: float((centres[c] - point).norm()), default=None)
            if near is None or float((centres[near] - point).norm()) > radius:
                members.append([])
                centres.append(point)
                near = len(centres) - 1
            taken.add(near)
            members[near].append((reading, k))
            weights = torch.tensor([r.weight for r, _ in members[near]])
            points = torch.stack([r.frame[i] for r, i in members[near]])
            centres[near] = (weights[:, None] * points).sum(0) / weights.sum()
    total = sum(s.weight for s in sides)
    kept = [c for c, m in enumerate(members) if sum(r.weight for r, _ in m) > support * total]
    kept.sort(key=lambda c: -sum(r.weight * float(r.scores[i]) for r, i in members[c]))

    def mean(c: int, part: str) -> torch.Tensor:
        return sum(r.weight * getattr(r, part)[i] for r, i in members[c])

    if not kept:
        empty = torch.zeros(0, dtype=torch.long)
        return DecodedAtoms(torch.zeros(0, 2), empty, empty, torch.zeros(0))
    return DecodedAtoms(
        torch.stack([centres[c] for c in kept]),
        torch.stack([mean(c, "classes").argmax() for c in kept]),
        torch.stack([mean(c, "charges").argmax() for c in kept]),
        torch.stack([mean(c, "scores") / total for c in kept]),
    )


def to_pixels(frame: torch.Tensor, side: int, margin: int) -> torch.Tensor:
    return frame * (side - 2 * margin) + side / 2


def read_side(model: GraphReader, pixels: torch.Tensor, rows: list[int]) -> SideRead:
    outputs = model.net(ink(pixels[rows]))
    graphs = graphs_from_outputs(model.net, outputs, model.decode_settings)
    return SideRead(outputs, graphs, {row: i for i, row in enumerate(rows)})


@dataclass
class ImageReading:
    """One image read both ways: the vote's winner, the share of the sides' weight it won, and
    the fused reading at each support asked for."""

    vote: GraphReading
    share: float
    fused: dict[float, GraphReading]
    closer: dict[str, GraphReading]


def read_batch(
    model: GraphReader, by_side: dict[int, torch.Tensor], radius: float, supports: list[float]
) -> list[ImageReading]:
    """Each image of the batch read by the vote and fused."""
    margin = model.clean_params.margin
    target, trained = model.hparams.target_bond_length, model.clean_params.image_size
    count = len(by_side[trained])
    reads = {trained: read_side(model, by_side[trained], list(range(count)))}
    voters = [
        voting_sides(voting_bond_length(graph_of(graph)), target, list(by_side), SCALE_VOTERS)
        for graph in reads[trained].graphs
    ]
    closer = [closer_sides(sides, list(by_side)) for sides in voters]
    for side in set().union(*voters, *closer) - {trained}:
        rows = [row for row in range(count) if side in voters[row] or side in closer[row]]
        reads[side] = read_side(model, by_side[side], rows)
    results = []
    for row, sides in enumerate(voters):
        voters_graphs = {s: graph_of(reads[s].graphs[reads[s].index[row]]) for s in sides}
        readings = {s: molecule_from_graph(g) for s, g in voters_graphs.items()}
        lengths = {s: voting_bond_length(g) for s, g in voters_graphs.items()}
        winner = scale_vote(
            [r.inchi for r in readings.values()],
            [r.confidence for r in readings.values()],
            list(lengths.values()),
            target,
        )
        vote = next(r for r in readings.values() if r.inchi == winner)
        weights = {
            s: min(lengths[s] / target, target / lengths[s]) * readings[s].confidence
            if lengths[s]
            else 0.0
            for s in sides
        }
        total = sum(weights.values())
        if total == 0:
            same = {support: vote for support in supports}
            results.append(ImageReading(vote, 1.0, same, {name: vote for name in CLOSER_RULES}))
            continue
        share = sum(w for s, w in weights.items() if readings[s].inchi == winner) / total
        parts = [side_atoms(reads[s], row, s, margin, weights[s]) for s in sides if weights[s] > 0]
        nearest = sides[0]
        bond = lengths[nearest] / (nearest - 2 * margin) if lengths[nearest] else 0.0
        fused = {
            support: fused_reading(
                model, reads, row, fuse_atoms(parts, radius * bond, support), parts, nearest
            )
            for support in supports
        }
        won = next(s for s in sides if readings[s].inchi == winner)
        looks = [side_atoms(reads[c], row, c, margin, 1.0) for c in closer[row]]
        looked = closer_readings(voters_graphs[won], won, margin, looks, radius * bond)
        results.append(ImageReading(vote, share, fused, looked))
    return results


CLOSER_SCALE = 1.5  # the closer look: sides around this many times the nearest voting side
CLOSER_RULES = {
    f"{part} {threshold:g}": (part, threshold)
    for part in ("charges", "classes")
    for threshold in (0.5, 0.7, 0.9)
}


def closer_sides(voters: list[int], sides: list[int], looks: int = 2) -> list[int]:
    """The ``looks`` sides nearest ``CLOSER_SCALE`` times the nearest voting side."""
    wanted = voters[0] * CLOSER_SCALE
    return sorted(sides, key=lambda side: (abs(side - wanted), side))[:looks]


def closer_readings(
    graph: MolGraph, side: int, margin: int, looks: list[SideAtoms], radius: float
) -> dict[str, GraphReading]:
    """The vote's graph with its atoms' charges (or classes) as the closer sides read them,
    where every closer side finds the atom and their mean probability of another charge (or
    class) exceeds the rule's threshold."""
    frame = [
        ((a.x - side / 2) / (side - 2 * margin), (a.y - side / 2) / (side - 2 * margin))
        for a in graph.atoms
    ]
    matched: list[list[tuple[SideAtoms, int]]] = []
    for x, y in frame:
        point, found = torch.tensor([x, y]), []
        for look in looks:
            if len(look.frame):
                distance = (look.frame - point).norm(dim=1)
                nearest = int(distance.argmin())
                if float(distance[nearest]) <= radius:
                    found.append((look, nearest))
        matched.append(found if len(found) == len(looks) else [])
    readings = {}
    for name, (part, threshold) in CLOSER_RULES.items():
        atoms = []
        for atom, found in zip(graph.atoms, matched, strict=True):
            if found:
                mean = sum(getattr(look, part)[k] for look, k in found) / len(found)
                best = int(mean.argmax())
                current = atom.charge_index if part == "charges" else atom.symbol_index
                if best != current and float(mean[best]) > threshold:
                    change = (
                        {"charge": CHARGES[best]}
                        if part == "charges"
                        else {"symbol": ATOM_SYMBOLS[best]}
                    )
                    atom = dataclasses.replace(atom, **change)
            atoms.append(atom)
        readings[name] = molecule_from_graph(MolGraph(atoms, graph.bonds))
    return readings


def fused_reading(
    model: GraphReader,
    reads: dict[int, SideRead],
    row: int,
    fused: DecodedAtoms,
    sides: list[SideAtoms],
    frame_side: int,
) -> GraphReading:
    """``fused``'s bonds, every candidate pair classified at every side and averaged."""
    net, margin = model.net, model.clean_params.margin
    if len(fused.xy) == 0:
        return molecule_from_graph(graph_of(DecodedGraph(fused, empty_bonds())))
    frame_px = to_pixels(fused.xy, frame_side, margin)
    pairs = candidate_pairs(frame_px, bond_radius(frame_px, net.config.max_bond_length))
    total = sum(s.weight for s in sides)
    probability = (
        sum(
            s.weight
            * pair_probabilities(
                net,
                side_features(reads[s.side], row),
                [to_pixels(fused.xy, s.side, margin)],
                [pairs],
            )
            for s in sides
        )
        / total
    )
    scores, classes = probability.clamp(0, 1).max(dim=1)
    bonded = classes != 0
    atoms = fused._replace(xy=frame_px)
    bonds = DecodedBonds(pairs[bonded], classes[bonded], scores[bonded])
    return molecule_from_graph(graph_of(DecodedGraph(atoms, bonds)))


def side_features(read: SideRead, row: int) -> torch.Tensor:
    index = read.index[row]
    return read.outputs["features"][index : index + 1]


def empty_bonds() -> DecodedBonds:
    empty = torch.zeros(0, dtype=torch.long)
    return DecodedBonds(torch.zeros(0, 2, dtype=torch.long), empty, torch.zeros(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, required=True, help="a labelled set")
    parser.add_argument("--out", type=Path, required=True, help="per-image CSV")
    parser.add_argument("--ckpt_path", help="a graph recogniser (default: the shipped one)")
    parser.add_argument(
        "--radius",
        type=float,
        default=0.4,
        help="atoms of two sides this many median bonds apart are one",
    )
    parser.add_argument(
        "--support",
        type=float,
        nargs="+",
        default=[0.5],
        help="share of the sides' weight that must find an atom (several: each is read)",
    )
    parser.add_argument("--limit", type=int)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=1)
    args = parser.parse_args(argv)
    model = load_reader(args.ckpt_path or require_shipped_model())
    if not isinstance(model, GraphReader):
        raise SystemExit(f"error: {args.ckpt_path} holds a captioner, not a graph recogniser")
    images = labelled_images(args.images, model.clean_params, args.limit, model.reading_sizes)
    loader = DataLoader(
        images,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        collate_fn=collate_labelled,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(args.out, "w", newline="") as f, torch.inference_mode():
        writer = csv.writer(f)
        writer.writerow(
            ["image_id", "truth", "vote", "share"]
            + [f"fused_{s}" for s in args.support]
            + list(CLOSER_RULES)
        )
        for batch in tqdm(loader, desc="reading", unit="batch"):
            by_side = {model.clean_params.image_size: batch["images"], **batch["rescaled"]}
            read = read_batch(model, by_side, args.radius, args.support)
            for image_id, truth, image in zip(
                batch["image_ids"], batch["inchis"], read, strict=True
            ):
                fused = [image.fused[s].inchi for s in args.support]
                looked = [image.closer[name].inchi for name in CLOSER_RULES]
                writer.writerow(
                    [image_id, truth, image.vote.inchi, f"{image.share:.4f}", *fused, *looked]
                )
                rows.append((truth, image))
    print(
        f"{args.out}: {len(rows)} images; the vote reads {sum(t == i.vote.inchi for t, i in rows)}"
    )
    for name in CLOSER_RULES:
        right = sum(t == i.closer[name].inchi for t, i in rows)
        print(f"the vote's {name.split()[0]} read closer (threshold {name.split()[1]}): {right}")
    print("| support | fused | fused where the vote's share is below 0.5 / 0.6 / 0.7 / 0.8 |")
    print("| ---: | ---: | --- |")
    for support in args.support:
        right = sum(t == i.fused[support].inchi for t, i in rows)
        hybrids = [
            sum(t == (i.fused[support] if i.share < below else i.vote).inchi for t, i in rows)
            for below in (0.5, 0.6, 0.7, 0.8)
        ]
        print(f"| {support} | {right} | {' / '.join(map(str, hybrids))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
