"""groups.py: every group label written out as the group it stands for, where it stands."""

from __future__ import annotations

import math

import pytest
from rdkit import Chem

from inchi_lightning.chemistry.groups import GROUP_SMILES, expand_groups
from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import ATOM_SYMBOLS
from inchi_lightning.prep import abbreviations
from tests.graphs import BOND, chain, inchi_of


@pytest.mark.parametrize("label", sorted(GROUP_SMILES))
def test_every_label_expands_into_its_group(label: str) -> None:
    graph = chain([(0, 0, "C"), (BOND, 0, label)], [(0, 1, "single")])
    # A linker's second attachment, unused here, takes a hydrogen.
    expected = inchi_of(GROUP_SMILES[label].replace("*", "C", 1).replace("*", ""))
    reading = molecule_from_graph(graph)
    assert reading.inchi == expected and reading.repairs == ()


def test_expanded_groups_sit_on_their_label_pointing_away() -> None:
    graph = chain([(0, 0, "C"), (BOND, 0, "tBu")], [(0, 1, "single")])
    expanded, fixed = expand_groups(graph)
    assert [atom.symbol for atom in expanded.atoms] == ["C"] * 5
    assert (expanded.atoms[1].x, expanded.atoms[1].y) == (BOND, 0)  # the attachment atom
    # The methyls lie one bond from the attachment atom, further from atom 0 than it is.
    for atom in expanded.atoms[2:]:
        assert math.hypot(atom.x - BOND, atom.y) == pytest.approx(BOND)
        assert math.hypot(atom.x, atom.y) > BOND * 1.2
    assert len(fixed) == 3 and frozenset((0, 1)) not in fixed


def test_a_linker_label_joins_its_two_neighbours_through_its_chain() -> None:
    # HO-CH2CH2-OMe drawn as O -- CH2CH2 -- OMe: its two bonds go to the chain's two ends.
    graph = chain(
        [(0, 0, "O"), (BOND, 0, "CH2CH2"), (2 * BOND, 0, "OMe")],
        [(0, 1, "single"), (1, 2, "single")],
    )
    assert molecule_from_graph(graph).inchi == inchi_of("OCCOC")
    runs = chain(
        [(0, 0, "Ph"), (BOND, 0, "(CH2)4"), (2 * BOND, 0, "N")],
        [(0, 1, "single"), (1, 2, "single")],
    )
    assert molecule_from_graph(runs).inchi == inchi_of("NCCCCc1ccccc1")
    # A stereocentre beyond the linker keeps its configuration: the chain lies where the
    # label was drawn, seen from the centre.
    for kind, smiles in (("wedge", "C[C@@H](O)CCO"), ("hash", "C[C@H](O)CCO")):
        centre = chain(
            [(-26, 15, "C"), (0, 0, "C"), (26, 15, "CH2CH2"), (0, -30, "O"), (52, 0, "O")],
            [(0, 1, "single"), (1, 2, "single"), (1, 3, kind), (2, 4, "single")],
        )
        assert molecule_from_graph(centre).inchi == inchi_of(smiles), kind


def test_every_label_the_drawings_write_is_a_class_with_the_same_group() -> None:
    for name in abbreviations.ABBREVIATION_SETS:
        for abbreviation in abbreviations._abbreviations(name):  # the tables condense uses
            text = abbreviation.displayLabel.replace("<sub>", "").replace("</sub>", "")
            text = text.replace("<sup>", "").replace("</sup>", "")
            # The label names the class (patents spell NEt2 N(CH2CH3)2); else the text does.
            label = abbreviation.label if abbreviation.label in ATOM_SYMBOLS else text
            assert label in ATOM_SYMBOLS, f"{name}: {abbreviation.label}"
            if GROUP_SMILES[label].count("*") == 2:  # a linker: RDKit keeps one "*" of two
                group, expected = _chain_of(abbreviation.mol), _chain_of(GROUP_SMILES[label])
            else:
                group = Chem.MolToSmiles(Chem.MolFromSmiles(Chem.MolToSmiles(abbreviation.mol)))
                expected = Chem.MolToSmiles(Chem.MolFromSmiles(GROUP_SMILES[label]))
            assert group == expected, f"{name}: {abbreviation.label}"


def _chain_of(group: Chem.Mol | str) -> str:
    """A group's atoms without its attachment points, every valence filled with hydrogens."""
    mol = Chem.RWMol(Chem.MolFromSmiles(group) if isinstance(group, str) else group)
    for index in sorted(
        (a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0), reverse=True
    ):
        mol.RemoveAtom(index)
    for atom in mol.GetAtoms():
        atom.SetNoImplicit(False)
        atom.SetNumExplicitHs(0)
        atom.SetNumRadicalElectrons(0)
    Chem.SanitizeMol(mol)
    return Chem.MolToSmiles(mol)
