"""RDKit chemistry: the default corpus, InChI conversions, BRICS fragments and grafted groups,
post-processing.

Drawing lives in drawing.py. Nothing runs at import time: the corpus is read on
the first call to ``default_smiles()``. RDKit's log output is silenced only inside the calls
that expect noise (``rdBase.BlockLogs``), never process-wide.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import BRICS, EnumerateStereoisomers

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
# InChI.
# ---------------------------------------------------------------------------------------------


_STEREO_LAYERS = re.compile(r"/[btms][^/]*")


def mol_from_smiles(smiles: str) -> Chem.Mol | None:
    """The molecule for ``smiles``, or None when RDKit cannot parse and sanitise it."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def inchi_from_mol(mol: Chem.Mol) -> str | None:
    """The standard InChI of ``mol``, or None when the InChI library refuses it."""
    with rdBase.BlockLogs():
        try:
            inchi = Chem.MolToInchi(mol)
        except (ValueError, RuntimeError):
            return None
    return inchi or None


def inchi_from_smiles(smiles: str) -> str | None:
    """The standard InChI for ``smiles``, or None when it does not parse or has no InChI."""
    mol = mol_from_smiles(smiles)
    return None if mol is None else inchi_from_mol(mol)


def mol_from_inchi(inchi: str) -> Chem.Mol | None:
    """The molecule an InChI describes, or None when RDKit cannot read it."""
    if not inchi.startswith("InChI="):
        return None  # RDKit's InChI reader aborts noisily on such strings
    with rdBase.BlockLogs():
        try:
            mol = Chem.MolFromInchi(inchi)
        except (ValueError, RuntimeError):
            return None
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def smiles_from_inchi(inchi: str) -> str | None:
    """The canonical SMILES of the molecule an InChI describes, or None when RDKit cannot read
    it."""
    mol = mol_from_inchi(inchi)
    return None if mol is None else Chem.MolToSmiles(mol)


def is_valid_inchi(inchi: str) -> bool:
    """True when RDKit can turn ``inchi`` into a molecule."""
    return mol_from_inchi(inchi) is not None


def normalise_inchi(inchi: str) -> str | None:
    """``inchi`` rewritten as the standard InChI of the molecule it describes (None: unreadable).

    Two strings describing the same molecule normalise to the same string, so a prediction can
    be compared with its label after both pass through here.
    """
    mol = mol_from_inchi(inchi)
    return None if mol is None else inchi_from_mol(mol)


def inchi_without_stereo(inchi: str) -> str:
    """``inchi`` less its stereo layers (/b, /t, /m, /s): the stereo-free InChI two readings of
    one constitution share."""
    return _STEREO_LAYERS.sub("", inchi)


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


# ---------------------------------------------------------------------------------------------
# Post-processing predictions: the most probable candidate RDKit reads, rewritten as standard.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PostProcessed:
    """One image's prediction after each post-processing step.

    Attributes:
        raw: the most probable candidate, as the model wrote it.
        raw_valid: RDKit reads ``raw``.
        chosen: the most probable candidate RDKit reads; ``raw`` when none does.
        chosen_index: the position of ``chosen`` among the candidates.
        final: ``chosen`` rewritten as the standard InChI of its molecule; ``chosen`` when
            normalising is off or the InChI library cannot write the molecule.
        valid: RDKit reads ``chosen`` (and so ``final``, its own rewrite).
    """

    raw: str
    raw_valid: bool
    chosen: str
    chosen_index: int
    final: str
    valid: bool


def postprocess(
    candidates: Sequence[str], choose: bool = True, normalise: bool = True
) -> PostProcessed:
    """Post-process one image's candidates, most probable first.

    Args:
        candidates: the beam's InChIs, best first (one for greedy decoding).
        choose: take the first candidate RDKit reads instead of the first one.
        normalise: rewrite the chosen InChI as RDKit's standard InChI (InChI → Mol → InChI).
    """
    if not candidates:
        return PostProcessed("", False, "", 0, "", False)
    raw_mol = mol_from_inchi(candidates[0])
    index, mol = 0, raw_mol
    if mol is None and choose:
        for position, candidate in enumerate(candidates[1:], start=1):
            mol = mol_from_inchi(candidate)
            if mol is not None:
                index = position
                break
    chosen = candidates[index]
    final = chosen
    if normalise and mol is not None:
        final = inchi_from_mol(mol) or chosen
    return PostProcessed(
        raw=candidates[0],
        raw_valid=raw_mol is not None,
        chosen=chosen,
        chosen_index=index,
        final=final,
        valid=mol is not None,
    )
