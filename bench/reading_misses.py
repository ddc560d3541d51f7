"""What kind of mistake each wrong reading is, from the per-sample CSV ``evaluate`` writes.

    python -m inchi_lightning evaluate --images ../shared/data/uspto-300 --out per_sample.csv
    python bench/reading_misses.py per_sample.csv

Each image falls in the first kind that fits: right; right but for stereo; no molecule read;
the labelled molecule read plus extra fragments (stray text or marks read as atoms); the right
formula in another structure; the right number of heavy atoms with other elements (the element
swaps most often seen are listed); fewer heavy atoms (text groups and labels not expanded, most
often); more heavy atoms. The kinds say where to look, not why: look at the images.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from inchi_lightning.chem import inchi_from_mol, inchi_without_stereo, mol_from_inchi

KINDS = (
    "right",
    "right but for stereo",
    "no molecule",
    "right molecule, extra fragments",
    "right formula, other structure",
    "right atom count, other elements",
    "fewer heavy atoms",
    "more heavy atoms",
)


def elements(molecule: Chem.Mol) -> Counter:
    return Counter(atom.GetSymbol() for atom in molecule.GetAtoms())


def kind_of(truth: str, reading: str) -> str:
    if reading == truth:
        return "right"
    if reading and inchi_without_stereo(reading) == inchi_without_stereo(truth):
        return "right but for stereo"
    expected, read = mol_from_inchi(truth), mol_from_inchi(reading)
    if read is None or expected is None:
        return "no molecule"
    fragments = {inchi_from_mol(part) for part in Chem.GetMolFrags(read, asMols=True)}
    if len(Chem.GetMolFrags(expected)) == 1 and truth in fragments:
        return "right molecule, extra fragments"
    formula = rdMolDescriptors.CalcMolFormula
    if formula(read) == formula(expected):
        return "right formula, other structure"
    difference = read.GetNumHeavyAtoms() - expected.GetNumHeavyAtoms()
    if difference == 0:
        return "right atom count, other elements"
    return "fewer heavy atoms" if difference < 0 else "more heavy atoms"


def swaps(truth: str, reading: str) -> list[str]:
    """ "O->Cl"-style swaps between the two molecules' element counts, atom for atom."""
    expected, read = elements(mol_from_inchi(truth)), elements(mol_from_inchi(reading))
    lost = [e for e in sorted(expected) for _ in range(expected[e] - read[e])]
    gained = [e for e in sorted(read) for _ in range(read[e] - expected[e])]
    return [f"{a}->{b}" for a, b in zip(lost, gained, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("per_sample", type=Path, help="evaluate's --out CSV")
    parser.add_argument("--column", default="final", help="the reading to judge (default final)")
    args = parser.parse_args()
    with open(args.per_sample, newline="") as file:
        rows = list(csv.DictReader(file))
    kinds, swapped = Counter(), Counter()
    for row in rows:
        kind = kind_of(row["truth"], row[args.column])
        kinds[kind] += 1
        if kind == "right atom count, other elements":
            swapped.update(swaps(row["truth"], row[args.column]))
    print(f"{args.per_sample}: {len(rows)} images, column {args.column!r}\n")
    print("| kind | images | share |\n| --- | ---: | ---: |")
    for kind in KINDS:
        print(f"| {kind} | {kinds[kind]} | {kinds[kind] / max(len(rows), 1):.1%} |")
    if swapped:
        common = ", ".join(f"{swap} {count}" for swap, count in swapped.most_common(6))
        print(f"\nelement swaps where the atom count is right: {common}")


if __name__ == "__main__":
    main()
