"""Which molecules a synthetic dataset draws: read from the user's SMILES file or RDKit's corpus,
walked in a seed-shuffled order, and made up with BRICS crossovers when too few are distinct.

The choice is a pure function of the candidates, ``n`` and the seed: chunks of work go through
any ``map``-like (``tasks.Mapper``: the builtin, or a process pool's) and come back in task
order, so the molecules never depend on how many processes converted them. No InChI is chosen
twice. Nothing here draws, writes files or logs: synth.py plans, draws and reports.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles, smiles_from_inchi
from inchi_lightning.prep.corpus import FragmentLibrary, brics_fragments, default_smiles
from inchi_lightning.prep.tasks import Mapper, chunks, in_order

# Independent random streams derived from the seed (render.py's drawing streams are 2 and up).
_ORDER_STREAM = 0
_BRICS_STREAM = 1

_INCHI_CHUNK = 256  # SMILES per planning task
_FRAGMENT_CHUNK = 64  # molecules cut into BRICS fragments per task
_BRICS_CHUNK = 500  # crossover attempts per task
_BRICS_PARENTS = 1000  # molecules cut into BRICS fragments: bounds the fragmenting work
_BRICS_ATTEMPTS_PER_MOLECULE = 20  # give up after this many attempts per molecule still needed


# ---------------------------------------------------------------------------------------------
# Candidates: the user's file or RDKit's corpus.
# ---------------------------------------------------------------------------------------------


def read_smiles_file(path: Path) -> list[tuple[int, str]]:
    """(line number, SMILES) for each molecule line of a SMILES or CSV file, unvalidated.

    A CSV is recognised by a ``smiles`` column (any case) in its header, or else an ``inchi``
    column: a dataset's own ``train_labels.csv``, so that its molecules can be drawn again in
    new styles; each InChI is written as SMILES here (an unreadable one is kept as it is, to be
    counted invalid with the rest). Otherwise each line's first whitespace-separated field is
    the SMILES (the .smi convention: SMILES, then a name); a first line reading ``smiles ...``
    is taken as a header. Blank lines and ``#`` comments are skipped. Raises
    ``FileNotFoundError`` when ``path`` is not a file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file not found: {path}")
    with path.open(newline="") as handle:
        lines = handle.read().splitlines()
    header = next(csv.reader(lines[:1]), [])
    columns = [field.strip().lower() for field in header]
    for name, as_smiles in (("smiles", str), ("inchi", _smiles_from_inchi)):
        if len(columns) > 1 and name in columns:
            column = columns.index(name)
            rows = csv.reader(lines[1:])
            return [
                (number, as_smiles(row[column].strip()))
                for number, row in enumerate(rows, start=2)
                if len(row) > column and row[column].strip()
            ]
    molecules = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if number == 1 and fields[0].lower() == "smiles":
            continue
        molecules.append((number, fields[0]))
    return molecules


def small_corpus(max_atoms: int | None) -> list[str]:
    """RDKit's corpus, only its molecules of at most ``max_atoms`` heavy atoms (all with None)."""
    corpus = default_smiles()
    if max_atoms is None:
        return corpus
    return [smiles for smiles in corpus if _heavy_atoms(smiles) <= max_atoms]


def _heavy_atoms(smiles: str) -> float:
    mol = mol_from_smiles(smiles)
    return math.inf if mol is None else mol.GetNumHeavyAtoms()


def distinct_by_inchi(candidates: Iterable[str | None]) -> Iterator[str]:
    """The candidate SMILES whose InChI is new, in order, lazily: the molecule lists that
    scripts/ write take the first ``n`` of a random walk, drawing no candidate beyond them.
    None and unreadable SMILES are passed over."""
    seen: set[str] = set()
    for smiles in candidates:
        inchi = None if smiles is None else inchi_from_smiles(smiles)
        if inchi is not None and inchi not in seen:
            seen.add(inchi)
            yield smiles


def _smiles_from_inchi(inchi: str) -> str:
    return smiles_from_inchi(inchi) or inchi


def load_candidates(smiles_file: Path | None) -> list[tuple[int, str]]:
    """(line number, SMILES) of ``smiles_file``, or (entry number, SMILES) of RDKit's corpus
    when it is None. Raises ``ValueError`` when the file holds no SMILES."""
    if smiles_file is None:
        return list(enumerate(default_smiles(), start=1))
    candidates = read_smiles_file(smiles_file)
    if not candidates:
        raise ValueError(f"{smiles_file} holds no SMILES")
    return candidates


# ---------------------------------------------------------------------------------------------
# Choosing: a seed-shuffled walk, then BRICS crossovers.
# ---------------------------------------------------------------------------------------------


@dataclass
class Molecules:
    """Unique molecules chosen for a plan, with what was skipped on the way."""

    chosen: list[tuple[str, str]]  # (SMILES, InChI)
    invalid_lines: list[int]
    duplicates: int = 0
    from_brics: int = 0


def _inchis_of(smiles: Sequence[str]) -> list[str | None]:
    return [inchi_from_smiles(item) for item in smiles]


def choose_molecules(
    candidates: list[tuple[int, str]], n: int, seed: int, mapper: Mapper, wave: int, check_all: bool
) -> Molecules:
    """The first ``n`` molecules of distinct InChI in a seed-shuffled walk through ``candidates``.

    With ``check_all`` every candidate is converted, so that every invalid line is reported;
    otherwise the walk stops as soon as ``n`` are found.
    """
    order = np.random.default_rng([seed, _ORDER_STREAM]).permutation(len(candidates))
    walk = [candidates[i] for i in order]
    smiles_chunks = chunks([smiles for _, smiles in walk], _INCHI_CHUNK)
    molecules = Molecules(chosen=[], invalid_lines=[])
    seen: set[str] = set()
    inchis = in_order(mapper, _inchis_of, smiles_chunks, len(smiles_chunks) if check_all else wave)
    for (line, smiles), inchi in zip(walk, inchis, strict=False):
        if inchi is None:
            molecules.invalid_lines.append(line)
        elif inchi in seen:
            molecules.duplicates += 1
        elif len(molecules.chosen) < n:
            seen.add(inchi)
            molecules.chosen.append((smiles, inchi))
            if len(molecules.chosen) == n and not check_all:
                break
    molecules.invalid_lines.sort()
    return molecules


def _fragments_of(smiles: Sequence[str]) -> list[str]:
    return sorted({fragment for item in smiles for fragment in brics_fragments(item)})


@functools.lru_cache(maxsize=1)
def _library(fragments: tuple[str, ...]) -> FragmentLibrary:
    # Cached so that each worker parses the fragments once, not once per task.
    return FragmentLibrary(fragments)


def _crossovers(task: tuple[tuple[str, ...], int, int]) -> list[tuple[str, str]]:
    """(SMILES, InChI) of the crossovers made by BRICS task ``chunk`` of ``seed``."""
    fragments, seed, chunk = task
    library = _library(fragments)
    rng = np.random.default_rng([seed, _BRICS_STREAM, chunk])
    made = []
    for _ in range(_BRICS_CHUNK):
        smiles = library.random_molecule(rng)
        inchi = None if smiles is None else inchi_from_smiles(smiles)
        if inchi is not None:
            made.append((smiles, inchi))
    return made


def add_brics_molecules(molecules: Molecules, n: int, seed: int, mapper: Mapper, wave: int) -> None:
    """Fill ``molecules`` up to ``n`` with BRICS crossovers of the ones already chosen.

    Raises ``ValueError`` when the bounded number of attempts does not reach ``n``.
    """
    needed = n - len(molecules.chosen)
    parents = [smiles for smiles, _ in molecules.chosen[:_BRICS_PARENTS]]
    parent_chunks = chunks(parents, _FRAGMENT_CHUNK)
    fragments = tuple(sorted(set(in_order(mapper, _fragments_of, parent_chunks, wave))))
    tasks_allowed = math.ceil(needed * _BRICS_ATTEMPTS_PER_MOLECULE / _BRICS_CHUNK)
    tasks = [(fragments, seed, chunk) for chunk in range(tasks_allowed)]
    seen = {inchi for _, inchi in molecules.chosen}
    for smiles, inchi in in_order(mapper, _crossovers, tasks, wave):
        if inchi not in seen:
            seen.add(inchi)
            molecules.chosen.append((smiles, inchi))
            molecules.from_brics += 1
            if len(molecules.chosen) == n:
                return
    raise ValueError(
        f"only {len(molecules.chosen)} distinct molecules could be made "
        f"({len(molecules.chosen) - molecules.from_brics} given, {molecules.from_brics} by BRICS "
        f"recombination) but {n} were asked for: give more SMILES or a smaller --n"
    )
