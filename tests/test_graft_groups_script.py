"""scripts/graft_groups.py: the molecule lists the fine-tunes' grafted sets are drawn from."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem

from inchi_lightning.chemistry.groups import GROUP_SMILES
from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles


def test_max_atoms_grafts_onto_small_corpus_molecules_only(load_script) -> None:
    graft_groups = load_script("graft_groups")
    made = graft_groups.grafted(12, seed=3, max_atoms=10)
    assert len(made) == 12
    assert len({inchi_from_smiles(smiles) for smiles, _ in made}) == 12
    for smiles, group in made:
        group_atoms = mol_from_smiles(GROUP_SMILES[group].replace("*", "[H]"))
        # The corpus molecule (at most 10 heavy atoms) less the H the group replaced.
        core = mol_from_smiles(smiles).GetNumHeavyAtoms() - group_atoms.GetNumHeavyAtoms()
        assert 0 < core <= 10, (smiles, group)
    unlimited = graft_groups.grafted(12, seed=3)
    assert max(mol_from_smiles(s).GetNumHeavyAtoms() for s, _ in unlimited) > 10 + 7


def test_groups_chooses_what_is_grafted_and_refuses_an_unknown_label(
    tmp_path: Path, capsys, load_script
) -> None:
    graft_groups = load_script("graft_groups")
    out = tmp_path / "grafted.smi"
    assert graft_groups.main(["--out", str(out), "--n", "6", "--groups", "PMB,Trt"]) == 0
    lines = [line.split() for line in out.read_text().splitlines()]
    assert [group for _, group in lines] == ["PMB", "Trt"] * 3
    trityl = mol_from_smiles(GROUP_SMILES["Trt"].removeprefix("*"))
    assert all(mol_from_smiles(s).HasSubstructMatch(trityl) for s, g in lines if g == "Trt")
    with pytest.raises(SystemExit):
        graft_groups.main(["--out", str(out), "--n", "6", "--groups", "PMB,XYZ"])
    assert "no such group label XYZ" in capsys.readouterr().err


def test_pmbn_grafts_the_group_onto_a_ring_nitrogen(load_script) -> None:
    graft_groups = load_script("graft_groups")
    made = graft_groups.grafted(8, seed=5, groups=("PMBN",))
    assert len(made) == 8
    protected = Chem.MolFromSmarts("[N;R;!a;+0]-[CH2]c1ccc(O[CH3])cc1")
    assert all(mol_from_smiles(smiles).HasSubstructMatch(protected) for smiles, _ in made)


def test_halogens_are_grafted_as_atoms_onto_an_aromatic_carbon(load_script) -> None:
    graft_groups = load_script("graft_groups")
    made = graft_groups.grafted(6, seed=7, groups=("I", "Br"))
    assert [group for _, group in made] == ["I", "Br"] * 3
    for smiles, halogen in made:
        assert mol_from_smiles(smiles).HasSubstructMatch(Chem.MolFromSmarts(f"c-[{halogen}]"))
    assert graft_groups.main(["--out", "/dev/null", "--n", "2", "--groups", "I"]) == 0


def test_chains_graft_alkyls_and_linkers_that_end_in_a_group(load_script) -> None:
    graft_groups = load_script("graft_groups")
    made = graft_groups.grafted(14, seed=11, groups=graft_groups.CHAINS)
    assert [group for _, group in made] == list(graft_groups.CHAINS) * 2
    for smiles, group in made:
        mol = mol_from_smiles(smiles)
        chain = GROUP_SMILES[group].removeprefix("*")
        if chain.endswith("*"):  # a linker: CH2s from the ring to a drawn end group
            carbons = len(chain) - 1
            pattern = "c-" + "-".join(["[CH2]"] * carbons) + "-[!#1;!$([CH2])]"
        else:
            pattern = "c-" + chain.replace("C", "[C]", 1)
        assert mol.HasSubstructMatch(Chem.MolFromSmarts(pattern)), (smiles, group)
    assert graft_groups.main(["--out", "/dev/null", "--n", "7", "--groups", "CHAINS"]) == 0
