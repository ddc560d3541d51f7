"""Write a molecule list for ``synth --smiles``: RDKit's corpus molecules that can have
stereocentres or stereo double bonds, each as a random stereoisomer.

    python scripts/stereo_isomers.py --out stereo.smi --n 20000 --seed 0
    python -m inchi_lightning synth --out data/stereo --n 20000 --smiles stereo.smi \\
        --patent-fraction 0.8

RDKit's corpus says the stereo of 113 of its 16,526 molecules, so a reader trained on it
hardly ever sees a wedge, a hash or a double bond drawn with its geometry; a fifth of
uspto-300's drawings have them, and those were read exactly a fifth as often as the rest
(``random_stereoisomer`` says why an isomer is as good a molecule). A molecule may come
back as several of its isomers (on later passes over the corpus) when the corpus alone gives
too few; the list holds no InChI twice.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inchi_lightning.prep.corpus import default_smiles, random_stereoisomer
from inchi_lightning.prep.molecules import distinct_by_inchi

_PASSES = 4  # walks over the corpus before giving up on reaching --n


def stereoisomers(n: int, seed: int) -> list[str]:
    """Up to ``n`` SMILES of distinct random stereoisomers, the same for the same seed."""
    rng = np.random.default_rng(seed)
    corpus = default_smiles()
    made = (
        random_stereoisomer(corpus[index], rng)
        for _ in range(_PASSES)
        for index in rng.permutation(len(corpus))
    )
    chosen = islice(distinct_by_inchi(made), n)
    return list(tqdm(chosen, total=n, desc="stereoisomers", unit="mol"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the SMILES file to write")
    parser.add_argument("--n", type=int, required=True, help="molecules to write (at most)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n <= 0:
        parser.error(f"--n must be positive, not {args.n}")
    made = stereoisomers(args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{smiles}\n" for smiles in made))
    print(f"wrote {len(made)} molecules to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
