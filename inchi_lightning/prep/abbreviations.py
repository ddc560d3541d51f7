"""Text groups: the abbreviation sets drawings write groups with (OMe, CO2H, N(CH3)2, Ph, ...)
and ``condense``, which replaces the groups of a molecule by text atoms for drawing.

``"rdkit"`` is RDKit's default set; the patent sets are below, each label the class its text
stands for (groups.GROUP_SMILES), so one class reads every spelling of a group.
"""

from __future__ import annotations

import functools

from rdkit import Chem, rdBase
from rdkit.Chem import rdAbbreviations

from inchi_lightning.chemistry.groups import RING_NITROGEN_GROUPS

# Text groups of patent drawings, in RDKit's abbreviation format (label, SMARTS with the
# attachment point first, label when the bond comes from the left, label when from the right).
# Earlier lines win where two match. "formula" writes groups out, "short" uses the usual names.
_PATENT_ABBREVIATIONS = {
    "formula": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocHN
        Boc *C(=O)OC(C)(C)C Boc Boc
        NHCbz *[NH]C(=O)O[CH2]c1ccccc1 NHCbz CbzHN
        Cbz *C(=O)O[CH2]c1ccccc1 Cbz Cbz
        COOCH3 *C(=O)O[CH3] COOCH<sub>3</sub> H<sub>3</sub>COOC
        COOC2H5 *C(=O)O[CH2][CH3] COOC<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>OOC
        COOH *C(=O)[OH] COOH HOOC
        OCF3 *OC(F)(F)F OCF<sub>3</sub> F<sub>3</sub>CO
        CF3 *C(F)(F)F CF<sub>3</sub> F<sub>3</sub>C
        OCH3 *O[CH3] OCH<sub>3</sub> H<sub>3</sub>CO
        OC2H5 *O[CH2][CH3] OC<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>O
        NO2 *[N+](=O)[O-] NO<sub>2</sub> O<sub>2</sub>N
        SO2NH2 *S(=O)(=O)[NH2] SO<sub>2</sub>NH<sub>2</sub> H<sub>2</sub>NO<sub>2</sub>S
        SO2CH3 *S(=O)(=O)[CH3] SO<sub>2</sub>CH<sub>3</sub> H<sub>3</sub>CO<sub>2</sub>S
        CONH2 *C(=O)[NH2] CONH<sub>2</sub> H<sub>2</sub>NOC
        COCH3 *C(=O)[CH3] COCH<sub>3</sub> H<sub>3</sub>COC
        OCHF2 *O[CH](F)F OCHF<sub>2</sub> F<sub>2</sub>HCO
        N(C2H5)2 *N([CH2][CH3])[CH2][CH3] N(C<sub>2</sub>H<sub>5</sub>)<sub>2</sub> (H<sub>5</sub>C<sub>2</sub>)<sub>2</sub>N
        N(CH3)2 *N([CH3])[CH3] N(CH<sub>3</sub>)<sub>2</sub> (H<sub>3</sub>C)<sub>2</sub>N
        NHCH3 *[NH][CH3] NHCH<sub>3</sub> H<sub>3</sub>CHN
        SCH3 *S[CH3] SCH<sub>3</sub> H<sub>3</sub>CS
        CH2OH *[CH2][OH] CH<sub>2</sub>OH HOH<sub>2</sub>C
        nBu *[CH2][CH2][CH2][CH3] C<sub>4</sub>H<sub>9</sub> H<sub>9</sub>C<sub>4</sub>
        nPr *[CH2][CH2][CH3] C<sub>3</sub>H<sub>7</sub> H<sub>7</sub>C<sub>3</sub>
        C2H5 *[CH2][CH3] C<sub>2</sub>H<sub>5</sub> H<sub>5</sub>C<sub>2</sub>
        CN *C#N CN NC
        Ph *c1ccccc1 Ph Ph
    """,  # noqa: E501 (one abbreviation per line: N(C2H5)2's spelt-out text is long)
    "short": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocHN
        Boc *C(=O)OC(C)(C)C Boc Boc
        NHCbz *[NH]C(=O)O[CH2]c1ccccc1 NHCbz CbzHN
        Cbz *C(=O)O[CH2]c1ccccc1 Cbz Cbz
        CO2Me *C(=O)O[CH3] CO<sub>2</sub>Me MeO<sub>2</sub>C
        CO2Et *C(=O)O[CH2][CH3] CO<sub>2</sub>Et EtO<sub>2</sub>C
        CO2H *C(=O)[OH] CO<sub>2</sub>H HO<sub>2</sub>C
        CF3 *C(F)(F)F CF<sub>3</sub> F<sub>3</sub>C
        OMe *O[CH3] OMe MeO
        OEt *O[CH2][CH3] OEt EtO
        SO2Me *S(=O)(=O)[CH3] SO<sub>2</sub>Me MeO<sub>2</sub>S
        NEt2 *N([CH2][CH3])[CH2][CH3] NEt<sub>2</sub> Et<sub>2</sub>N
        NMe2 *N([CH3])[CH3] NMe<sub>2</sub> Me<sub>2</sub>N
        OBn *O[CH2]c1ccccc1 OBn BnO
        OPh *Oc1ccccc1 OPh PhO
        Bn *[CH2]c1ccccc1 Bn Bn
        tBu *C([CH3])([CH3])[CH3] tBu tBu
        Et *[CH2][CH3] Et Et
        Me *[CH3] Me Me
        Ph *c1ccccc1 Ph Ph
    """,
    # The same groups as many patents spell them (CH3CH2 for ethyl, C(CH3)3, C6H5); each line's
    # label is the class its text stands for, so one class reads every spelling.
    "spelled": """
        NHBoc *[NH]C(=O)OC(C)(C)C NHBoc BocNH
        NHAc *[NH]C(=O)[CH3] NHCOCH<sub>3</sub> CH<sub>3</sub>CONH
        CO2Me *C(=O)O[CH3] CO<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>O<sub>2</sub>C
        CO2Et *C(=O)O[CH2][CH3] CO<sub>2</sub>CH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>O<sub>2</sub>C
        CO2H *C(=O)[OH] CO<sub>2</sub>H HO<sub>2</sub>C
        OCF3 *OC(F)(F)F OCF<sub>3</sub> CF<sub>3</sub>O
        CF3 *C(F)(F)F CF<sub>3</sub> CF<sub>3</sub>
        OMe *O[CH3] OCH<sub>3</sub> CH<sub>3</sub>O
        OEt *O[CH2][CH3] OCH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>O
        SO2Me *S(=O)(=O)[CH3] SO<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>SO<sub>2</sub>
        NEt2 *N([CH2][CH3])[CH2][CH3] N(CH<sub>2</sub>CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>CH<sub>2</sub>)<sub>2</sub>N
        NMe2 *N([CH3])[CH3] N(CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>)<sub>2</sub>N
        NHCH3 *[NH][CH3] NHCH<sub>3</sub> CH<sub>3</sub>NH
        SMe *S[CH3] SCH<sub>3</sub> CH<sub>3</sub>S
        Ac *C(=O)[CH3] COCH<sub>3</sub> CH<sub>3</sub>CO
        tBu *C([CH3])([CH3])[CH3] C(CH<sub>3</sub>)<sub>3</sub> (CH<sub>3</sub>)<sub>3</sub>C
        iPr *[CH]([CH3])[CH3] CH(CH<sub>3</sub>)<sub>2</sub> (CH<sub>3</sub>)<sub>2</sub>CH
        Et *[CH2][CH3] CH<sub>2</sub>CH<sub>3</sub> CH<sub>3</sub>CH<sub>2</sub>
        CN *C#N CN NC
        Ph *c1ccccc1 C<sub>6</sub>H<sub>5</sub> C<sub>6</sub>H<sub>5</sub>
    """,  # noqa: E501 (as above)
}
# Protecting groups, written by their names in patents of any spelling (uspto-300: PMBN, Trt).
# Every patent set condenses them first, in a pass of their own, so OTBS wins over TBS, PMB
# over OMe, Ts over Ph. (Benzoyl stays drawn out: uspto-300 draws it so.)
_PROTECTING_GROUPS = """
    OTBS *O[Si]([CH3])([CH3])C([CH3])([CH3])[CH3] OTBS TBSO
    TBS *[Si]([CH3])([CH3])C([CH3])([CH3])[CH3] TBS TBS
    PMB *[CH2]c1ccc(O[CH3])cc1 PMB PMB
    Trt *C(c1ccccc1)(c1ccccc1)c1ccccc1 Trt Trt
    Ts *S(=O)(=O)c1ccc([CH3])cc1 Ts Ts
"""
# A protecting group on a ring nitrogen is written into the nitrogen's label, the ring's bonds
# on the text (uspto-300: PMBN in a thiazolidinone, four drawings): the group's class, then the
# text with the bonds on its left and on its right. RDKit condenses no ring atom, so
# ``_into_ring_nitrogens`` writes these after the protecting-group pass.
_RING_NITROGEN_LABELS = {
    group: (label, "N" + group, group + "N") for label, group in RING_NITROGEN_GROUPS.items()
}
# Names and formulae mixed, as many patents write them: COOEt and COOMe beside OMe and NEt2
# (uspto-300's US07314889-C00081), each read as the class of the "short" spelling.
_PATENT_ABBREVIATIONS["mixed"] = (
    _PATENT_ABBREVIATIONS["short"]
    .replace("CO<sub>2</sub>Me MeO<sub>2</sub>C", "COOMe MeOOC")
    .replace("CO<sub>2</sub>Et EtO<sub>2</sub>C", "COOEt EtOOC")
    .replace("CO2H *C(=O)[OH] CO<sub>2</sub>H HO<sub>2</sub>C", "COOH *C(=O)[OH] COOH HOOC")
)
PATENT_ABBREVIATION_SETS: tuple[str, ...] = tuple(_PATENT_ABBREVIATIONS)
ABBREVIATION_SETS: tuple[str, ...] = ("rdkit", *PATENT_ABBREVIATION_SETS)
# Chains patents condense into one label between two bonds (uspto-300: -CH2CH2-, (CH2)10),
# RDKit's linker format (two attachment points); after each set's groups, longest first.
_CH2_RUNS = """
    (CH2)4 *[CH2][CH2][CH2][CH2]* (CH<sub>2</sub>)<sub>4</sub> (CH<sub>2</sub>)<sub>4</sub>
    (CH2)3 *[CH2][CH2][CH2]* (CH<sub>2</sub>)<sub>3</sub> (CH<sub>2</sub>)<sub>3</sub>
"""
_CH2CH2 = """
    CH2CH2 *[CH2][CH2]* CH<sub>2</sub>CH<sub>2</sub> CH<sub>2</sub>CH<sub>2</sub>
"""
_PATENT_LINKERS = {
    "formula": _CH2CH2,
    "short": _CH2_RUNS,
    "spelled": _CH2_RUNS + _CH2CH2,
    "mixed": _CH2_RUNS,
}

# The largest part of a molecule one text group may stand for: a drawing that is mostly text
# says little about the skeleton. A protecting group is the exception: patents write Trt (19
# atoms) on molecules of any size, and the name is all the drawing says of it.
_MAX_ABBREVIATION_COVERAGE = 0.4
_MAX_PROTECTING_GROUP_COVERAGE = 0.75


def _abbreviations(name: str) -> tuple:
    """The groups and linkers set ``name`` condenses, in the order its passes take them."""
    return tuple(group for groups, _ in _passes(name) for group in groups)


@functools.cache
def _passes(name: str) -> tuple[tuple[tuple, float], ...]:
    """How set ``name`` condenses: (groups and linkers, largest coverage) for each pass, in
    order. A patent set writes its protecting groups first, in a pass of their own."""
    if name == "rdkit":
        return ((tuple(rdAbbreviations.GetDefaultAbbreviations()), _MAX_ABBREVIATION_COVERAGE),)
    if name not in _PATENT_ABBREVIATIONS:
        raise ValueError(f"unknown abbreviation set {name!r}; choose from {ABBREVIATION_SETS}")
    protecting = rdAbbreviations.ParseAbbreviations(_lines(_PROTECTING_GROUPS))
    groups = rdAbbreviations.ParseAbbreviations(_lines(_PATENT_ABBREVIATIONS[name]))
    linkers = rdAbbreviations.ParseLinkers(_lines(_PATENT_LINKERS.get(name, "")))
    return (
        (tuple(protecting), _MAX_PROTECTING_GROUP_COVERAGE),
        ((*groups, *linkers), _MAX_ABBREVIATION_COVERAGE),
    )


def _lines(table: str) -> str:
    return "\n".join(line.strip() for line in table.strip().splitlines())


def condense(mol: Chem.Mol, abbreviation_set: str = "rdkit") -> Chem.Mol:
    """A copy of ``mol`` with known groups replaced by text atoms (``abbreviation_set``).

    RDKit keeps the text in each such atom's ``atomLabel`` property; the copy is for drawing
    only, its chemistry is not the molecule's.
    """
    condensed = mol  # each pass returns a new molecule: every set has at least one
    with rdBase.BlockLogs():
        for groups, coverage in _passes(abbreviation_set):
            condensed = rdAbbreviations.CondenseMolAbbreviations(
                condensed, list(groups), maxCoverage=coverage
            )
    if abbreviation_set in PATENT_ABBREVIATION_SETS:
        condensed = _into_ring_nitrogens(condensed)
    return condensed


def _into_ring_nitrogens(condensed: Chem.Mol) -> Chem.Mol:
    """``condensed`` with each protecting group of ``_RING_NITROGEN_LABELS`` on a neutral,
    non-aromatic ring nitrogen written into that nitrogen: one text atom where the N was, with
    its ring bonds, and the group's own text atom gone."""
    edited = Chem.RWMol(condensed)
    gone = []
    for atom in edited.GetAtoms():
        texts = _RING_NITROGEN_LABELS.get(atom.GetPropsAsDict().get("atomLabel"))
        if texts is None or atom.GetAtomicNum() != 0 or atom.GetDegree() != 1:
            continue
        (nitrogen,) = atom.GetNeighbors()
        if not (
            nitrogen.GetSymbol() == "N"
            and nitrogen.IsInRing()
            and not nitrogen.GetIsAromatic()
            and nitrogen.GetFormalCharge() == 0
            and nitrogen.GetDegree() == 3
        ):
            continue
        nitrogen.SetAtomicNum(0)
        nitrogen.SetNoImplicit(True)
        nitrogen.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
        for prop, text in zip(("atomLabel", "_displayLabel", "_displayLabelW"), texts, strict=True):
            nitrogen.SetProp(prop, text)
        gone.append(atom.GetIdx())
    for index in sorted(gone, reverse=True):
        edited.RemoveAtom(index)
    return edited.GetMol()
