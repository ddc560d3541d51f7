"""RDKit's InChI: conversions between SMILES, molecules and standard InChI, and the
post-processing of a model's candidates (the most probable one RDKit reads, rewritten as the
standard InChI of its molecule).

RDKit's log output is silenced only inside the calls that expect noise (``rdBase.BlockLogs``),
never process-wide.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rdkit import Chem, rdBase

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
