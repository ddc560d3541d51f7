import json
from pathlib import Path

import pytest
from rdkit import Chem, RDConfig, rdBase

from inchi_lightning.tokenizer import (
    EOS_ID,
    PAD_ID,
    PREFIX,
    SOS_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    InChITokenizer,
    tokenize,
)

# Layers that plain organic molecules rarely exercise: isotopes, charges, protons, stereo
# (double bond, tetrahedral, relative/absolute), several components.
SPECIAL_SMILES = [
    "[13CH3]O",
    "[2H]C([2H])([2H])Cl",
    "C[NH3+]",
    "CC(=O)[O-].[Na+]",
    "[Na+].[Cl-]",
    "C/C=C/C",
    "C/C=C\\C",
    "C[C@H](N)C(=O)O",
    "C[C@@H]1CC[C@H](C)CC1",
    "O.O.[Cu+2].[O-]S(=O)(=O)[O-]",
    "c1ccccc1.c1ccccc1",
    "[NH4+]",
]


def rdkit_inchis(limit: int) -> list[str]:
    """Standard InChIs for the first molecules of RDKit's NCI list, plus the special layers."""
    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    smiles = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    inchis = []
    with rdBase.BlockLogs():
        for s in SPECIAL_SMILES + smiles:
            mol = Chem.MolFromSmiles(s)
            inchi = Chem.MolToInchi(mol) if mol is not None else ""
            if inchi.startswith(PREFIX):
                inchis.append(inchi)
            if len(inchis) >= limit:
                break
    return inchis


@pytest.fixture(scope="module")
def inchis() -> list[str]:
    return rdkit_inchis(1500)


def test_formula_layer_splits_into_elements_and_counts():
    assert tokenize("InChI=1S/C13H20OS/c1")[:6] == ["C", "13", "H", "20", "O", "S"]


def test_layers_split_into_tag_numbers_and_punctuation():
    tokens = tokenize("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3")
    assert tokens == (
        ["C", "2", "H", "6", "O", "/c", "1", "-", "2", "-", "3"]
        + ["/h", "3", "H", ",", "2", "H", "2", ",", "1", "H", "3"]
    )


def test_multi_component_formula_keeps_dot_and_elements():
    tokens = tokenize("InChI=1S/C2H4O2.Na/c1-2(3)4;/h1H3,(H,3,4);/q;+1/p-1")
    assert tokens[:9] == ["C", "2", "H", "4", "O", "2", ".", "Na", "/c"]


def test_missing_prefix_is_an_error():
    with pytest.raises(ValueError, match="InChI=1S/"):
        tokenize("C2H6O/c1-2-3")


def test_round_trip_on_rdkit_inchis(inchis):
    assert len(inchis) >= 1000
    tokenizer = InChITokenizer.build(inchis)
    for inchi in inchis:
        assert "".join(tokenize(inchi)) == inchi[len(PREFIX) :]
        assert tokenizer.decode(tokenizer.encode(inchi)) == inchi


def test_special_layers_are_covered(inchis):
    layers = {token for inchi in inchis for token in tokenize(inchi) if token.startswith("/")}
    assert {"/c", "/h", "/b", "/t", "/m", "/s", "/i", "/q", "/p"} <= layers
    assert any("." in inchi.split("/")[1] for inchi in inchis)


def test_encode_wraps_in_sos_eos_and_max_length_covers_longest(inchis):
    tokenizer = InChITokenizer.build(inchis)
    encoded = [tokenizer.encode(inchi) for inchi in inchis]
    assert all(ids[0] == SOS_ID and ids[-1] == EOS_ID for ids in encoded)
    assert tokenizer.max_length == max(len(ids) for ids in encoded)
    assert tokenizer.tokens[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)


def test_unknown_tokens_map_to_unk_and_never_crash():
    tokenizer = InChITokenizer.build(["InChI=1S/CH4/h1H4", "InChI=1S/C2H6/c1-2/h1-2H3"])
    ids = tokenizer.encode("InChI=1S/CH3Br/c1-2/h1H3")
    assert ids.count(UNK_ID) == 1
    assert tokenizer.unknown_tokens("InChI=1S/CH3Br/c1-2/h1H3") == ["Br"]
    assert tokenizer.decode(ids) == "InChI=1S/CH3/c1-2/h1H3"
    assert tokenizer.decode([SOS_ID, 10_000, -1, EOS_ID]) == PREFIX


def test_decode_stops_at_eos_and_skips_padding():
    tokenizer = InChITokenizer.build(["InChI=1S/CH4/h1H4"])
    ids = tokenizer.encode("InChI=1S/CH4/h1H4")
    assert tokenizer.decode(ids + [PAD_ID, PAD_ID]) == "InChI=1S/CH4/h1H4"
    assert tokenizer.decode(ids[:-1] + [EOS_ID] + ids[1:3]) == "InChI=1S/CH4/h1H4"


def test_save_load_round_trip(tmp_path, inchis):
    tokenizer = InChITokenizer.build(inchis[:100])
    tokenizer.save(tmp_path / "vocab.json")
    loaded = InChITokenizer.load(tmp_path / "vocab.json")
    assert loaded == tokenizer
    assert loaded.fingerprint == tokenizer.fingerprint
    assert json.loads((tmp_path / "vocab.json").read_text())["tokens"] == tokenizer.tokens
    assert not list(tmp_path.glob(".*tmp*"))


def test_fingerprint_changes_with_vocabulary():
    a = InChITokenizer.build(["InChI=1S/CH4/h1H4"])
    b = InChITokenizer.build(["InChI=1S/CH3Br/c1-2/h1H3"])
    assert a.fingerprint != b.fingerprint


def test_build_is_order_independent(inchis):
    assert InChITokenizer.build(inchis[:200]) == InChITokenizer.build(reversed(inchis[:200]))


def test_bad_vocabularies_are_rejected():
    with pytest.raises(ValueError, match="start with"):
        InChITokenizer(["C", "H"], 5)
    with pytest.raises(ValueError, match="repeat"):
        InChITokenizer([*SPECIAL_TOKENS, "C", "C"], 5)
