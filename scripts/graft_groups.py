"""Write a molecule list for ``synth --smiles``: RDKit's corpus molecules, each with one of the
text groups patent drawings write grafted onto an aromatic carbon.

    python scripts/graft_groups.py --out grafted.smi --n 20000 --seed 0
    python -m inchi_lightning synth --out data/grafted --n 20000 --smiles grafted.smi \\
        --patent-fraction 0.8

Most of the groups the patent styles condense (N(CH3)2, NEt2, SO2NH2, CONH2, NHBoc, NHCbz, ...)
are rare in the corpus, some drawn a handful of times in 10,000 drawings: the recogniser cannot
learn a class it hardly sees. Each line is ``SMILES group``; the group is spread evenly over
``GROUPS`` (or ``--groups``: the protecting groups PMB,Trt,TBS,OTBS,Ts, which the corpus hardly
holds, or CHAINS, the alkyls and linkers patents write as text), and whether it is drawn as text
is still the drawing style's choice. A molecule without an aromatic CH is skipped; the list
holds no molecule twice. ``--max-atoms`` keeps to the corpus's small molecules: patents draw a
substituted benzene as large as a drug, with long bonds and large letters, and those were among
uspto-300's misses (CF3 and CN read as methyls). A label that writes a ring nitrogen with its
group (PMBN) is grafted as that group onto a ring NH: the corpus molecule's own, or one of a
saturated ring grafted onto it first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inchi_lightning.chemistry.groups import GROUP_SMILES, RING_NITROGEN_GROUPS
from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles
from inchi_lightning.prep.corpus import RING_NH, graft
from inchi_lightning.prep.molecules import small_corpus

# Groups the patent abbreviation sets write as text (drawing.py), by class name; rare in the
# corpus first. Spellings of one group (NMe2 and N(CH3)2) are one entry: the style picks the text.
GROUPS = (
    *("NMe2", "NEt2", "CONH2", "SO2NH2", "SO2Me", "COCH3", "SCH3", "OCHF2", "CH2OH"),
    *("NHBoc", "NHCbz", "Bn", "OBn", "OPh", "CF3", "OCF3", "NO2", "CN", "CO2H", "CO2Me"),
)

# Halogens are drawn as one-letter labels, not groups, but rare ones read badly: iodine's "I"
# is a bare stroke, read as the methyl a bond's end draws (an earlier release misread 4 of the
# 11 iodides among the seed-190 held-out drawings, against 5% of all). Grafted, they are drawn
# often enough to be told apart.
HALOGENS = {"I": "*I", "Br": "*Br", "Cl": "*Cl", "F": "*F"}
GRAFTS = {**GROUP_SMILES, **HALOGENS}
# Chains patents write as text: alkyls (C4H9, C3H7) and linkers between two bonds (CH2CH2,
# (CH2)3). Each is rare in the corpus, and one digit tells them apart: an earlier release read
# 1 of 10 held-out patent drawings with a C4H9 right, 15 of 22 with (CH2)3 (--groups CHAINS).
CHAINS = ("nBu", "nPr", "C2H5", "iPr", "CH2CH2", "(CH2)3", "(CH2)4")
# What a grafted linker ends in, so that it joins two drawn atoms as patents draw it.
LINKER_ENDS = ("N1CCOCC1", "N(C)C", "OC", "N1CCCCC1", "Cl", "OC(C)=O", "c1ccccc1", "NC(C)=O")

# Saturated rings with an NH, grafted first onto a molecule that has no ring NH of its own.
_NH_RINGS = ("*C1CCNCC1", "*N1CCNCC1", "*C1CCNC1", "*C1CNCCO1", "*C(=O)N1CCNCC1")


def _graft(group: str, rng: np.random.Generator) -> str:
    """The SMILES grafted for ``group``: a linker's second ``*`` becomes one of ``LINKER_ENDS``."""
    graft = GRAFTS[group]
    if graft.count("*") == 2:
        return graft[: graft.rindex("*")] + LINKER_ENDS[int(rng.integers(len(LINKER_ENDS)))]
    return graft


def _grafted_one(smiles: str, group: str, rng: np.random.Generator) -> str | None:
    if group not in RING_NITROGEN_GROUPS:
        return graft(smiles, _graft(group, rng), rng)
    mol = mol_from_smiles(smiles)
    if mol is not None and not mol.HasSubstructMatch(RING_NH):
        smiles = graft(smiles, _NH_RINGS[int(rng.integers(len(_NH_RINGS)))], rng)
    if smiles is None:
        return None
    # A ring-nitrogen label's group is grafted onto the N itself.
    return graft(smiles, GROUP_SMILES[RING_NITROGEN_GROUPS[group]], rng, site=RING_NH)


def grafted(
    n: int, seed: int, max_atoms: int | None = None, groups: tuple[str, ...] = GROUPS
) -> list[tuple[str, str]]:
    """Up to ``n`` (SMILES, group) pairs of distinct molecules, the same for the same seed,
    ``groups`` spread evenly over them; with ``max_atoms``, grafted onto corpus molecules of at
    most that many heavy atoms."""
    rng = np.random.default_rng(seed)
    corpus = small_corpus(max_atoms)
    seen, made = set(), []
    with tqdm(total=n, desc="grafting", unit="mol") as bar:
        for index in rng.permutation(len(corpus)):
            group = groups[len(made) % len(groups)]
            smiles = _grafted_one(corpus[index], group, rng)
            inchi = None if smiles is None else inchi_from_smiles(smiles)
            if inchi is None or inchi in seen:
                continue
            seen.add(inchi)
            made.append((smiles, group))
            bar.update()
            if len(made) == n:
                break
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the SMILES file to write")
    parser.add_argument("--n", type=int, required=True, help="molecules (at most the corpus's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-atoms", type=int, help="graft onto corpus molecules of at most this many heavy atoms"
    )
    parser.add_argument(
        "--groups",
        type=lambda text: CHAINS if text == "CHAINS" else tuple(text.split(",")),
        default=GROUPS,
        help=(
            f"comma-separated group labels or halogens ({','.join(HALOGENS)}) to graft, or "
            f"CHAINS ({','.join(CHAINS)}; a linker ends in a group) "
            f"(default: {','.join(GROUPS)})"
        ),
    )
    args = parser.parse_args(argv)
    if args.n <= 0:
        parser.error(f"--n must be positive, not {args.n}")
    unknown = [group for group in args.groups if group not in GRAFTS]
    if unknown:
        parser.error(f"--groups: no such group label {', '.join(unknown)}")
    made = grafted(args.n, args.seed, args.max_atoms, args.groups)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{smiles} {group}\n" for smiles, group in made))
    print(f"wrote {len(made)} molecules to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
