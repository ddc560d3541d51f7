"""Write a molecule list for ``synth --smiles``: RDKit's corpus molecules as salts of metal ions
charged +2 to +4.

    python scripts/metal_salts.py --out salts.smi --n 4000 --seed 0
    python -m inchi_lightning synth --out data/salts --n 4000 --smiles salts.smi

The charge classes stopped at +1 before 0.15.0 (molgraph), so a drawn ``Cu4+`` or ``Ca2+``
was never recorded, never trained on, and always misread. The corpus hardly holds such ions (27
atoms in 16.5k molecules), while the InChI of every metal complex comes back from RDKit as one:
the held-out sets draw ``Cu4+`` beside two phenolates, or beside two pyridines and two
chlorides. Each line here is one or two copies of a small corpus molecule (a ligand), a metal
cation of a charge spread evenly over +2, +3 and +4, and up to that many anions: the ligands'
acids deprotonated first (phenols, carboxylic acids, thiols), then halides or thiocyanate.
Like the held-out complexes, the whole need not be neutral. The list holds no molecule twice.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import numpy as np
from rdkit import Chem
from tqdm import tqdm

from inchi_lightning.chemistry.inchi import mol_from_smiles
from inchi_lightning.prep.molecules import distinct_by_inchi, small_corpus

# Metals among the atom classes (molgraph.ELEMENTS), by the charges their ions are drawn with.
CATIONS = {
    2: ("Mg", "Ca", "Zn", "Cu", "Fe", "Co", "Ni", "Mn", "Cd", "Hg", "Sn", "Pt"),
    3: ("Fe", "Al", "Cr", "Co", "Bi", "Sb", "As"),
    4: ("Cu", "Sn", "Pt", "Ge", "Mn"),
}
FREE_ANIONS = ("[Cl-]", "[Br-]", "[I-]", "[S-]C#N", "[F-]")
# An acidic hydrogen: on a phenol's or a carboxylic acid's oxygen, or on a thiol's sulfur.
ACID = Chem.MolFromSmarts("[$([OX2H1]c),$([OX2H1]C=O),$([SX2H1][#6])]")
MAX_LIGAND_ATOMS = 24  # two ligands and an ion still fit a drawing at a readable scale


def salt(ligand: str, rng: np.random.Generator) -> str | None:
    """``ligand`` (SMILES) once or twice beside a metal cation and its anions, or None when the
    ligand cannot be read."""
    mol = mol_from_smiles(ligand)
    if mol is None:
        return None
    charge = int(rng.integers(2, 5))
    metal = CATIONS[charge][int(rng.integers(len(CATIONS[charge])))]
    ligands = [Chem.Mol(mol) for _ in range(1 + int(rng.random() < 0.5))]
    anions = int(rng.integers(0, charge + 1))
    parts = []
    for copy in ligands:
        for match in copy.GetSubstructMatches(ACID):
            if anions == 0:
                break
            atom = copy.GetAtomWithIdx(match[0])
            atom.SetFormalCharge(-1)
            atom.SetNumExplicitHs(0)
            anions -= 1
        parts.append(Chem.MolToSmiles(copy))
    parts += [FREE_ANIONS[int(rng.integers(len(FREE_ANIONS)))] for _ in range(anions)]
    parts.append(f"[{metal}+{charge}]")
    return ".".join(parts)


def salts(n: int, seed: int) -> list[str]:
    """Up to ``n`` SMILES of distinct salts, the same for the same seed."""
    rng = np.random.default_rng(seed)
    corpus = small_corpus(MAX_LIGAND_ATOMS)
    made = (salt(corpus[index], rng) for index in rng.permutation(len(corpus)))
    return list(tqdm(islice(distinct_by_inchi(made), n), total=n, desc="salts", unit="mol"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the SMILES file to write")
    parser.add_argument("--n", type=int, required=True, help="molecules (at most the corpus's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n <= 0:
        parser.error(f"--n must be positive, not {args.n}")
    made = salts(args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{smiles}\n" for smiles in made))
    print(f"wrote {len(made)} molecules to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
