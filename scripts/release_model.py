"""Write a trained checkpoint as the model that ships with the package (or any release file).

    python scripts/release_model.py checkpoints/graph-cpu/best.ckpt
    python scripts/release_model.py RUN/last.ckpt --bond-length-from RUN/shards/train
    python scripts/release_model.py RUN_A/best.ckpt RUN_B/best.ckpt   # their weights' mean
    python scripts/release_model.py inchi_lightning/models/graph-resnet18-256.ckpt --threshold 0.3

The release keeps the weights in fp16 and no optimiser or loop state
(``checkpoints.release_checkpoint``), and is refused above 30 MB, the most a shipped model may
take. Given several checkpoints of one model (fine-tunes from the same weights), it releases
the mean of their weights (``checkpoints.mean_checkpoint``), the first's settings kept.
``--bond-length-from`` measures a graph recogniser's ``target_bond_length`` on the
annotated shards it trained on, for a checkpoint whose fit did not record it; ``--threshold``
sets the heatmap probability it reads atoms above (the fit's, unless given), and
``--atom-separation`` how close, in median neighbour distances, two peaks are one atom.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inchi_lightning.shards import ShardSet
from inchi_lightning.shipped import SHIPPED_MODEL
from inchi_lightning.training.checkpoints import release_checkpoint
from inchi_lightning.training.graph_data import shards_bond_length

MAX_BYTES = 30 * 2**20


def _release(checkpoints: list[Path], out: Path, settings: dict[str, float]) -> Path:
    if len(checkpoints) > 1:
        print(f"averaging the weights of {len(checkpoints)} checkpoints")
    out.parent.mkdir(parents=True, exist_ok=True)
    return release_checkpoint(checkpoints, out, settings)


def _settings(args: argparse.Namespace) -> dict[str, float]:
    settings = {}
    if args.bond_length_from is not None:
        length = shards_bond_length(ShardSet(args.bond_length_from))
        settings["target_bond_length"] = length
        print(f"target_bond_length {length:.2f} px, from {args.bond_length_from}")
    if args.threshold is not None:
        if not 0 < args.threshold < 1:
            raise ValueError(f"--threshold must lie between 0 and 1, not {args.threshold}")
        settings["threshold"] = args.threshold
    if args.atom_separation is not None:
        if not 0 <= args.atom_separation < 1:
            raise ValueError(f"--atom-separation must lie in [0, 1), not {args.atom_separation}")
        settings["atom_separation"] = args.atom_separation
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", type=Path, nargs="+", help="one, or several to average")
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--bond-length-from", type=Path, help="a train split of annotated shards")
    parser.add_argument(
        "--threshold", type=float, help="heatmap probability above which a peak is an atom"
    )
    parser.add_argument(
        "--atom-separation",
        type=float,
        help="peaks closer than this many median neighbour distances are one atom (0: all kept)",
    )
    args = parser.parse_args(argv)
    try:
        release = _release(args.checkpoints, args.out, _settings(args))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = release.stat().st_size
    if size > MAX_BYTES:
        release.unlink()
        print(f"error: the release is {size / 2**20:.1f} MB, over 30 MB", file=sys.stderr)
        return 2
    print(f"wrote {release} ({size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
