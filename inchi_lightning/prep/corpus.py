"""The molecules drawing sets are made of: the default corpus shipped in RDKit's package data,
BRICS crossovers when a set needs more molecules than that, a patent text group grafted onto a
molecule, and random stereoisomers.

Nothing runs at import time: the corpus is read on the first call to ``default_smiles()``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import BRICS, EnumerateStereoisomers

from inchi_lightning.chemistry.inchi import mol_from_smiles

# ---------------------------------------------------------------------------------------------
# The default corpus: molecule lists shipped inside the RDKit package.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _SmilesTable:
    """A delimited text file in RDKit's package data with SMILES in column ``column``."""

    path: str
    column: int
    delimiter: str | None = None  # None: any whitespace (the .smi convention)
    header: bool = False


# Relative to the RDKit package directory. Contrib/ is missing from some RDKit builds, so every
# file is optional; NCI/first_5K.smi (in Data/, always shipped) alone gives ~5,000 molecules.
_SMILES_TABLES = (
    _SmilesTable("Data/NCI/first_5K.smi", column=0),
    _SmilesTable("Data/Pains/test_data/wehi_mols.csv", column=0, delimiter=","),
    _SmilesTable("Contrib/FreeWilson/data/CHEMBL2321810.smi", column=0),
    _SmilesTable("Contrib/fraggle/data/ChEMBL_11265_actives.smi", column=0),
    _SmilesTable("Contrib/Fastcluster/cdk2.smi", column=1),
    _SmilesTable("Contrib/SA_Score/data/zim.100.txt", column=0, header=True),
)
_SDF_FILES = (
    "Data/NCI/first_200.props.sdf",
    "Contrib/PBF/testData/egfr.sdf",
    "Contrib/FreeWilson/data/cmet_ligands.sdf",
)


def _rdkit_package_dir() -> Path:
    return Path(RDConfig.RDDataDir).parent


def _read_smiles_table(table: _SmilesTable) -> Iterator[str]:
    path = _rdkit_package_dir() / table.path
    if not path.is_file():
        return
    with path.open(newline="") as handle:
        if table.delimiter is None:
            rows: Iterator[list[str]] = (line.split() for line in handle)
        else:
            rows = csv.reader(handle, delimiter=table.delimiter)
        for number, row in enumerate(rows):
            if (table.header and number == 0) or len(row) <= table.column:
                continue
            yield row[table.column]


def _read_sdf(relative_path: str) -> Iterator[str]:
    path = _rdkit_package_dir() / relative_path
    if not path.is_file():
        return
    with rdBase.BlockLogs():
        for mol in Chem.SDMolSupplier(str(path)):
            if mol is not None:
                yield Chem.MolToSmiles(mol)


def _corpus_entries() -> Iterator[str]:
    for table in _SMILES_TABLES:
        yield from _read_smiles_table(table)
    for relative_path in _SDF_FILES:
        yield from _read_sdf(relative_path)


@functools.cache
def _default_smiles() -> tuple[str, ...]:
    unique: dict[str, None] = {}  # an ordered set
    with rdBase.BlockLogs():
        for smiles in _corpus_entries():
            mol = Chem.MolFromSmiles(smiles)
            if mol is not None and mol.GetNumAtoms() > 0:
                unique.setdefault(Chem.MolToSmiles(mol))
    return tuple(unique)


def default_smiles() -> list[str]:
    """The molecule lists shipped in RDKit's package data, as canonical SMILES.

    NCI's first 5K, the WEHI screening set, ChEMBL and ZINC extracts found under
    ``RDConfig.RDDataDir`` and ``RDConfig.RDContribDir``: about 16,000 molecules when Contrib/ is
    installed, about 5,000 without. Every entry parses, none repeats, the order is the same on
    every call. Read on first use and cached; the caller gets its own list.
    """
    return list(_default_smiles())


# ---------------------------------------------------------------------------------------------
# BRICS fragments: new drug-like molecules from the pieces of known ones.
# ---------------------------------------------------------------------------------------------


def _partner_labels() -> dict[int, frozenset[int]]:
    """Which BRICS attachment labels may bond to which, from RDKit's BRICS rules.

    Label 7 (the C=C rule) is left out: its fragments carry a single bond to the attachment
    point, and the double bond it stands for would be lost on joining.
    """
    partners: dict[int, set[int]] = {}
    for group in BRICS.reactionDefs:
        for left, right, _bond in group:
            if left.startswith("7") or right.startswith("7"):
                continue
            partners.setdefault(int(left), set()).add(int(right))
            partners.setdefault(int(right), set()).add(int(left))
    return {label: frozenset(others) for label, others in partners.items()}


def brics_fragments(smiles: str) -> list[str]:
    """The two halves of every single BRICS cut of a molecule, sorted; [] when none.

    Each fragment is a SMILES with one attachment point written ``[n*]``, n the BRICS label.
    Single cuts (RDKit's ``singlePass``) keep the halves drug-sized, and stay fast on large
    molecules where the full recursive decomposition takes seconds.
    """
    mol = mol_from_smiles(smiles)
    if mol is None:
        return []
    with rdBase.BlockLogs():
        fragments = BRICS.BRICSDecompose(mol, singlePass=True)
    return sorted(fragment for fragment in fragments if fragment.count("*") == 1)


class FragmentLibrary:
    """BRICS half-molecules that ``random_molecule`` joins two at a time into new molecules.

    A new molecule is a random fragment bonded to a random fragment whose attachment label may
    bond to it under the BRICS rules: the crossover of two known molecules. Deterministic for a
    given fragment list and generator state.
    """

    def __init__(self, fragments: Sequence[str]) -> None:
        partners = _partner_labels()
        self.fragments: list[tuple[Chem.Mol, int]] = []
        by_label: dict[int, list[Chem.Mol]] = {}
        with rdBase.BlockLogs():
            for smiles in fragments:
                mol = Chem.MolFromSmiles(smiles)
                labels = [] if mol is None else _attachment_labels(mol)
                if len(labels) != 1 or labels[0] not in partners:
                    continue
                self.fragments.append((mol, labels[0]))
                by_label.setdefault(labels[0], []).append(mol)
        # For each label, every fragment that may bond to it, in fragment order.
        self.partners_of: dict[int, list[Chem.Mol]] = {
            label: [mol for other in sorted(others) for mol in by_label.get(other, [])]
            for label, others in partners.items()
        }

    def __len__(self) -> int:
        return len(self.fragments)

    def random_molecule(self, rng: np.random.Generator) -> str | None:
        """Canonical SMILES of a random new molecule, or None when this draw does not join."""
        if not self.fragments:
            return None
        first, label = self.fragments[int(rng.integers(len(self.fragments)))]
        candidates = self.partners_of[label]
        if not candidates:
            return None
        return _join(first, candidates[int(rng.integers(len(candidates)))])


def _attachment_labels(mol: Chem.Mol) -> list[int]:
    return [atom.GetIsotope() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0]


def _join(first: Chem.Mol, second: Chem.Mol) -> str | None:
    """Bond two one-attachment fragments at their attachment points; None if it won't sanitise."""
    halves = []
    for half in (first, second):
        half = Chem.RWMol(half)
        next(atom for atom in half.GetAtoms() if atom.GetAtomicNum() == 0).SetAtomMapNum(1)
        halves.append(half)
    with rdBase.BlockLogs():
        try:
            joined = Chem.molzip(Chem.CombineMols(*halves))
            Chem.SanitizeMol(joined)
        except (ValueError, RuntimeError):
            return None
        smiles = Chem.MolToSmiles(joined)
    return None if "*" in smiles else smiles


# Where ``graft`` puts a group: an aromatic carbon's hydrogen, or a neutral non-aromatic ring
# nitrogen's (where patents protect an amine: PMBN).
AROMATIC_CH = Chem.MolFromSmarts("[c;!H0]")
RING_NH = Chem.MolFromSmarts("[N;R;!a;H1;+0]")


def graft(
    smiles: str, group: str, rng: np.random.Generator, site: Chem.Mol = AROMATIC_CH
) -> str | None:
    """``smiles`` with ``group`` (SMILES with one attachment point ``*``) in place of a
    hydrogen of one of its atoms that match ``site``, chosen by ``rng``; None when it has no
    such atom or the result does not sanitise. The text groups of patent drawings (NMe2,
    SO2NH2, NHCbz, ...) are rare in RDKit's corpus: grafted, they get drawn often enough to be
    learnt.
    """
    mol = mol_from_smiles(smiles)
    if mol is None:
        return None
    sites = [match[0] for match in mol.GetSubstructMatches(site)]
    fragment = mol_from_smiles(group)
    if not sites or fragment is None:
        return None
    host = Chem.RWMol(mol)
    attachment = host.AddAtom(Chem.Atom(0))
    host.AddBond(sites[int(rng.integers(len(sites)))], attachment, Chem.BondType.SINGLE)
    return _join(host, fragment)


def random_stereoisomer(smiles: str, rng: np.random.Generator) -> str | None:
    """``smiles`` with every unassigned stereocentre and stereo double bond given a
    configuration chosen by ``rng``; None when it has none to assign or does not parse.

    Not one molecule in a hundred of RDKit's corpus says its stereo, where a fifth of patent
    drawings show wedges: a random stereoisomer of a real molecule is as real a molecule, and
    drawn, it has the wedges, hashes and double-bond geometry a reader must learn.
    """
    mol = mol_from_smiles(smiles)
    if mol is None:
        return None
    options = EnumerateStereoisomers.StereoEnumerationOptions(
        onlyUnassigned=True, unique=True, maxIsomers=1, rand=int(rng.integers(2**31))
    )
    with rdBase.BlockLogs():
        if not EnumerateStereoisomers.GetStereoisomerCount(mol, options) > 1:
            return None  # nothing unassigned: the count is 1, the molecule itself
        isomer = next(iter(EnumerateStereoisomers.EnumerateStereoisomers(mol, options)), None)
    return None if isomer is None else Chem.MolToSmiles(isomer)
