"""Write a shard directory whose train split reads several preprocessed sets, some more than
once; vocabulary, clean() settings, val and test come from the first (prep/union.py).

    python scripts/union_shards.py data/union/shards data/graph-long/shards \\
        data/stereo/shards:2 data/grafted/shards
    python -m inchi_lightning fit --config configs/graph-cpu.yaml \\
        --config configs/graph-finetune.yaml --data.shards data/union/shards

``DIR:N`` reads DIR's train split N times an epoch (default once).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inchi_lightning.prep.union import union_shards


def source(text: str) -> tuple[Path, int]:
    path, _, repeat = text.rpartition(":") if ":" in text else (text, "", "1")
    if not repeat.isdigit():
        raise argparse.ArgumentTypeError(f"{text}: the repeat after ':' must be a whole number")
    return Path(path), int(repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the union's directory (must not exist)")
    parser.add_argument("sources", type=source, nargs="+", help="shard directories, DIR or DIR:N")
    args = parser.parse_args(argv)
    try:
        manifest = union_shards(args.out, args.sources)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train = manifest["splits"]["train"]
    print(f"{args.out}: {train} training images from {len(args.sources)} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
