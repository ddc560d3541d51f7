"""drawing.py: RDKit drawing styles, depictions and canvases fitted to the molecule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from rdkit import Chem, RDConfig

from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles
from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.prep import abbreviations, drawing, styles


def test_random_style_is_seeded_and_stays_in_bms_ranges() -> None:
    drawn_styles = [styles.random_style(np.random.default_rng(seed)) for seed in range(200)]
    assert styles.random_style(np.random.default_rng(7)) == drawn_styles[7]
    assert len(set(drawn_styles)) == len(drawn_styles)
    for style in drawn_styles:
        assert 18 <= style.bond_length <= 34
        assert 0.8 <= style.bond_line_width <= 2.0
        assert 10 <= style.font_size <= 15
        assert 0 <= style.rotation < 360
        assert style.font is None or (Path(RDConfig.RDDataDir) / "Fonts" / style.font).is_file()
    assert any(style.abbreviate for style in drawn_styles)
    assert not all(style.abbreviate for style in drawn_styles)


def _mol(smiles: str) -> Chem.Mol:
    mol = mol_from_smiles(smiles)
    assert mol is not None
    return mol


def test_draw_gives_gray_ink_on_white_at_the_style_size() -> None:
    style = styles.DrawStyle(width=320, height=240, rotation=30.0)
    image = drawing.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style)
    assert image.dtype == np.uint8
    assert image.shape == (240, 320)
    assert (image[0, :] == 255).all() and (image[-1, :] == 255).all()  # white margins
    assert np.median(image) == 255
    ink = np.count_nonzero(image < 128)
    assert 0.005 * image.size < ink < 0.2 * image.size
    assert np.array_equal(image, drawing.draw(_mol("CC(=O)Oc1ccccc1C(=O)O"), style))


def test_abbreviations_and_methyl_labels_change_the_drawing() -> None:
    mol = _mol("OC(=O)c1ccc(cc1)C(F)(F)F")  # CO2H and CF3: both in RDKit's abbreviations
    plain = drawing.draw(mol, styles.DrawStyle())
    abbreviated = drawing.draw(mol, styles.DrawStyle(abbreviate=True))
    assert abbreviated.shape == plain.shape
    assert not np.array_equal(plain, abbreviated)
    methyl = _mol("Cc1ccccc1")
    labelled = drawing.draw(methyl, styles.DrawStyle(explicit_methyl=True))
    assert not np.array_equal(drawing.draw(methyl, styles.DrawStyle()), labelled)


def test_fit_canvas_follows_molecule_size_and_rotation() -> None:
    style = styles.DrawStyle(bond_length=25.0)
    small = drawing.fit_canvas(_mol("CCO"), style)
    large = drawing.fit_canvas(_mol("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"), style)
    assert small.width * small.height < large.width * large.height
    for fitted in (small, large):
        assert drawing.MIN_CANVAS <= min(fitted.width, fitted.height)
        assert max(fitted.width, fitted.height) <= drawing.MAX_CANVAS
        assert fitted.bond_length == style.bond_length
    chain = _mol("CCCCCCCCCC")
    level = drawing.fit_canvas(chain, style)
    turned = drawing.fit_canvas(chain, styles.DrawStyle(bond_length=25.0, rotation=90.0))
    assert (level.width, level.height) == (turned.height, turned.width)


def test_unknown_style_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown drawing style"):
        styles.random_style(np.random.default_rng(0), "sketch")


def test_random_patent_style_is_seeded_upright_and_large() -> None:
    rng = np.random.default_rng(3)
    drawn_styles = [styles.random_style(rng, "patent") for _ in range(200)]
    assert styles.random_style(np.random.default_rng(3), "patent") == drawn_styles[0]
    for style in drawn_styles:
        assert style.rotation == 0.0
        assert 30 <= style.bond_length <= 60
        assert style.font_size >= 12 and style.font_size >= 0.35 * style.bond_length
        assert style.abbreviation_set in abbreviations.ABBREVIATION_SETS
    for flag in ("abbreviate", "explicit_methyl", "label_chain_carbons", "aromatic_circles"):
        assert 0 < sum(getattr(style, flag) for style in drawn_styles) < len(drawn_styles)
    assert {style.font for style in drawn_styles} == set(styles.PATENT_FONTS)


def _stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels: ink area over half the ink outline's length."""
    ink = (image < 128).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return 2.0 * int(ink.sum()) / sum(cv2.arcLength(contour, True) for contour in contours)


def test_patent_strokes_span_the_thin_lines_of_patents_against_their_bonds() -> None:
    mol = _mol("CC(=O)Oc1ccccc1C(=O)O")
    shares = []
    for seed in range(12):
        style = drawing.fit_canvas(mol, styles.random_style(np.random.default_rng(seed), "patent"))
        shares.append(_stroke_width(drawing.draw(mol, style)) / style.bond_length)
    assert 0.015 < min(shares) < 0.035  # uspto-300's lines are ~3% of a bond wide
    assert max(shares) < 0.08


def test_benzene_like_rings_are_circled_and_their_bonds_read_aromatic() -> None:
    cases = {  # SMILES: rings circled
        "Oc1ccc2ccccc2c1C(=O)O": 2,  # naphthalene: both rings
        "c1ccc2[nH]ccc2c1": 1,  # indole: the benzene ring only, the pyrrole keeps its lines
        "O=c1ccc2ccccc2[nH]1": 1,  # 2-quinolinone: the ring with C=O keeps its lines
        "Cc1ccncc1": 1,  # pyridine
        "C1CCCCC1": 0,
    }
    for smiles, rings in cases.items():
        style = styles.DrawStyle(width=300, height=300, aromatic_circles=True)
        circled = drawing.draw_with_graph(_mol(smiles), style)
        plain = drawing.draw_with_graph(_mol(smiles), styles.DrawStyle(width=300, height=300))
        kinds = [bond.kind for bond in circled.graph.bonds]
        assert kinds.count("aromatic") == {0: 0, 1: 6, 2: 11}[rings], smiles
        assert "aromatic" not in [bond.kind for bond in plain.graph.bonds]
        assert np.allclose(circled.graph.points, plain.graph.points)
        if rings:  # a circle has ink at the ring's middle where single lines have none
            assert (circled.image < 128).sum() != (plain.image < 128).sum()
        assert molecule_from_graph(circled.graph).inchi == inchi_from_smiles(smiles)


def test_circles_lie_inside_their_rings() -> None:
    style = styles.DrawStyle(width=300, height=300, aromatic_circles=True)
    drawn = drawing.draw_with_graph(_mol("c1ccccc1"), style)
    centre = drawn.graph.points.mean(axis=0)
    inner = 0.866 * drawn.graph.bond_length  # a regular hexagon's inner radius
    ys, xs = np.nonzero(drawn.image < 128)
    distance = np.hypot(xs - centre[0], ys - centre[1])
    ring_ink = distance[distance < 0.9 * inner]
    assert len(ring_ink) > 0
    expected = style.aromatic_circle_size * inner
    assert abs(float(np.median(ring_ink)) - expected) < 2.0


def _labels(mol: Chem.Mol) -> list[str]:
    return [atom.GetProp("atomLabel") for atom in mol.GetAtoms() if atom.HasProp("atomLabel")]


@pytest.mark.parametrize(
    ("abbreviation_set", "expected"),
    [("formula", ["OCH3", "COOH"]), ("short", ["OMe", "CO2H"]), ("rdkit", ["OMe", "CO2H"])],
)
def test_condense_writes_methoxy_and_carboxyl_groups_as_text(
    abbreviation_set: str, expected: list[str]
) -> None:
    mol = _mol("COc1ccc(CC(=O)O)cc1")
    assert sorted(_labels(abbreviations.condense(mol, abbreviation_set))) == sorted(expected)
    assert mol.GetNumAtoms() == 12  # the molecule itself is untouched
    with pytest.raises(ValueError, match="unknown abbreviation set"):
        abbreviations.condense(mol, "none")


@pytest.mark.parametrize("abbreviation_set", abbreviations.PATENT_ABBREVIATION_SETS)
def test_patent_sets_write_protecting_groups_by_name_however_much_they_cover(
    abbreviation_set: str,
) -> None:
    # Trityl is 19 of this molecule's 26 heavy atoms: over the coverage any other group may have.
    trityl = _mol("O=C1CCN(C(c2ccccc2)(c2ccccc2)c2ccccc2)CC1")
    assert _labels(abbreviations.condense(trityl, abbreviation_set)) == ["Trt"]
    assert "Trt" not in _labels(abbreviations.condense(trityl, "rdkit"))
    # The larger group wins where two share atoms: OTBS over TBS, PMB over the methoxy in it;
    # on a ring nitrogen, PMB is written into the nitrogen's label.
    cases = {
        "CC(C)(C)[Si](C)(C)OCC1CCCCC1": ["OTBS"],
        "COc1ccc(CNC(=O)C2CCCCC2)cc1": ["PMB"],
        "COc1ccc(CN2CCOC2=O)cc1": ["PMBN"],
    }
    for smiles, labels in cases.items():
        assert _labels(abbreviations.condense(_mol(smiles), abbreviation_set)) == labels


def test_formula_sets_write_propyl_and_butyl_as_formulae_read_as_their_classes() -> None:
    # uspto-300's US07316185-C00031 writes its N-butyls C4H9.
    mol = _mol("CCCCN1C(=S)N(CCC)C(=O)CC1=O")
    condensed = abbreviations.condense(mol, "formula")
    labelled = [a for a in condensed.GetAtoms() if a.HasProp("atomLabel")]
    texts = {a.GetProp("atomLabel"): a.GetProp("_displayLabel") for a in labelled}
    assert texts == {"nBu": "C<sub>4</sub>H<sub>9</sub>", "nPr": "C<sub>3</sub>H<sub>7</sub>"}
    style = styles.DrawStyle(abbreviate=True, abbreviation_set="formula", width=400, height=300)
    graph = drawing.draw_with_graph(mol, style).graph
    assert sorted(a.symbol for a in graph.atoms if a.symbol.startswith("n")) == ["nBu", "nPr"]
    assert molecule_from_graph(graph).inchi == inchi_from_smiles(Chem.MolToSmiles(mol))


def test_a_protected_ring_nitrogen_is_drawn_and_recorded_as_one_label() -> None:
    # uspto-300's thiazolidinones write "PMBN": the ring's bonds end at the text, no line to PMB.
    mol = _mol("O=C1SC[C@@H](C2CCCCO2)N1Cc1ccc(OC)cc1")
    style = styles.DrawStyle(abbreviate=True, abbreviation_set="short", width=400, height=300)
    condensed = abbreviations.condense(mol, "short")
    (label,) = [a for a in condensed.GetAtoms() if a.HasProp("atomLabel")]
    assert (label.GetProp("atomLabel"), label.GetDegree(), label.IsInRing()) == ("PMBN", 2, True)
    assert {label.GetProp("_displayLabel"), label.GetProp("_displayLabelW")} == {"NPMB", "PMBN"}
    graph = drawing.draw_with_graph(mol, style).graph
    assert sorted(a.symbol for a in graph.atoms if a.symbol not in ("C", "O")) == ["PMBN", "S"]
    assert molecule_from_graph(graph).inchi == inchi_from_smiles(Chem.MolToSmiles(mol))
    # An aromatic ring nitrogen keeps its PMB apart: the ring could not be drawn with text in it.
    assert _labels(abbreviations.condense(_mol("COc1ccc(Cn2ccc3ccccc32)cc1"), "short")) == ["PMB"]


def test_patent_drawings_carry_text_groups_only_when_abbreviating() -> None:
    mol = _mol("COc1ccc(CC(=O)O)cc1")
    style = styles.random_style(np.random.default_rng(0), "patent")
    plain = dataclasses.replace(style, abbreviate=False, label_chain_carbons=False)
    abbreviated = dataclasses.replace(plain, abbreviate=True, abbreviation_set="formula")
    assert _labels(drawing._depict(mol, plain)) == []
    assert sorted(_labels(drawing._depict(mol, abbreviated))) == ["COOH", "OCH3"]
    assert not np.array_equal(drawing.draw(mol, plain), drawing.draw(mol, abbreviated))


def test_spelled_groups_are_recorded_as_the_class_they_stand_for() -> None:
    mol = _mol("CCN(CC)c1ccc(C(C)(C)C)cc1")
    style = styles.DrawStyle(abbreviate=True, abbreviation_set="spelled")
    condensed = abbreviations.condense(mol, "spelled")
    texts = sorted(
        a.GetProp("_displayLabel") for a in condensed.GetAtoms() if a.HasProp("atomLabel")
    )
    assert texts == ["C(CH<sub>3</sub>)<sub>3</sub>", "N(CH<sub>2</sub>CH<sub>3</sub>)<sub>2</sub>"]
    graph = drawing.draw_with_graph(mol, style).graph
    assert sorted(a.symbol for a in graph.atoms if a.symbol != "C") == ["NEt2", "tBu"]
    assert molecule_from_graph(graph).inchi == inchi_from_smiles(Chem.MolToSmiles(mol))


def test_bare_heteroatoms_drop_their_hydrogens_and_read_back_as_the_molecule() -> None:
    mol = _mol("Nc1ccc(O)cc1OC.[NH4+]")  # NH2 and OH lose their H; the ether and the ion do not
    style = styles.DrawStyle(bare_heteroatoms=True)
    depicted = drawing._depict(mol, style)
    labelled = {
        a.GetIdx(): a.GetProp("atomLabel") for a in depicted.GetAtoms() if a.HasProp("atomLabel")
    }
    assert labelled == {0: "N", 5: "O"}
    assert not np.array_equal(drawing.draw(mol, style), drawing.draw(mol, styles.DrawStyle()))
    graph = drawing.draw_with_graph(mol, style).graph
    assert [a.symbol for a in graph.atoms if a.symbol != "C"] == ["N", "O", "O", "N"]
    assert molecule_from_graph(graph).inchi == inchi_from_smiles(Chem.MolToSmiles(mol))


def test_explicit_hydrogens_are_drawn_on_stereocentres_and_aldehydes_and_read_back() -> None:
    smiles = "O=C[C@@H]1C[C@H](O)CN1C(=O)c1ccccc1"  # two stereocentres and an aldehyde
    mol = _mol(smiles)
    style = styles.DrawStyle(explicit_hydrogens=True)
    graph = drawing.draw_with_graph(mol, style).graph
    assert [atom.symbol for atom in graph.atoms].count("H") == 3
    assert sum(bond.kind in ("wedge", "hash") for bond in graph.bonds) == 2
    assert molecule_from_graph(graph).inchi == inchi_from_smiles(smiles)
    # Without the option only RDKit's own chiral hydrogens (ring fusions) are drawn: none here.
    plain = drawing.draw_with_graph(mol, styles.DrawStyle()).graph
    assert "H" not in [atom.symbol for atom in plain.atoms]


def test_chain_carbons_are_written_out_with_their_hydrogens() -> None:
    mol = _mol("CC(C)Cc1ccccc1")
    labelled = drawing._depict(mol, styles.DrawStyle(label_chain_carbons=True))
    assert sorted(_labels(labelled)) == ["CH", "CH<sub>2</sub>", "CH<sub>3</sub>", "CH<sub>3</sub>"]
    style = styles.DrawStyle(label_chain_carbons=True)
    assert not np.array_equal(drawing.draw(mol, style), drawing.draw(mol, styles.DrawStyle()))


def test_fonts_missing_from_rdkit_and_the_system_fall_back_to_the_built_in_one() -> None:
    assert styles.font_path(None) is None
    assert styles.font_path("Telex-Regular.ttf").is_file()
    assert styles.font_path("NoSuchFont-Regular.ttf") is None
    mol = _mol("CCO")
    missing = styles.DrawStyle(font="NoSuchFont-Regular.ttf")
    assert np.array_equal(drawing.draw(mol, missing), drawing.draw(mol, styles.DrawStyle()))


def test_labels_cut_by_a_tight_canvas_make_it_grow_when_asked() -> None:
    mol = _mol("COc1ccc(CC(=O)O)cc1")  # H3CO and COOH stick out left and right
    tight = styles.DrawStyle(
        width=230,
        height=160,
        bond_length=32.0,
        font_size=17,
        padding=0.02,
        abbreviate=True,
        abbreviation_set="formula",
    )

    def ink_on_edge(image: np.ndarray) -> bool:
        return bool((image[:, [0, -1]] < 128).any() or (image[[0, -1], :] < 128).any())

    assert ink_on_edge(drawing.draw(mol, tight))
    grown = drawing.draw(mol, dataclasses.replace(tight, grow_to_fit_labels=True))
    assert not ink_on_edge(grown)
    assert grown.shape[0] >= 160 and grown.shape[1] > 230


# --- the molecule as drawn --------------------------------------------------------------------


def test_draw_with_graph_gives_draws_pixels_for_every_style() -> None:
    mol = _mol("C[C@H]1CC[C@@H]2CCCC[C@H]2C1OC")  # wedges, a ring fusion H, an OMe group
    for seed in range(6):
        kind = styles.STYLE_KINDS[seed % 2]
        style = drawing.fit_canvas(mol, styles.random_style(np.random.default_rng(seed), kind))
        drawn = drawing.draw_with_graph(mol, style)
        assert np.array_equal(drawn.image, drawing.draw(mol, style))
        assert drawn.graph is not None and drawn.problem == ""
        height, width = drawn.image.shape
        assert all(0 <= x < width and 0 <= y < height for x, y in drawn.graph.points)


def test_the_graph_records_the_drawn_wedges_and_chiral_hydrogens() -> None:
    mol = _mol("C[C@H]1CC[C@@H]2CCCC[C@H]2C1")
    graph = drawing.draw_with_graph(mol, styles.DrawStyle()).graph
    symbols = [atom.symbol for atom in graph.atoms]
    assert symbols.count("H") == 2  # RDKit draws the ring fusion's hydrogens
    marked = [bond for bond in graph.bonds if bond.kind in ("wedge", "hash")]
    assert len(marked) == 3  # one per stereocentre
    for bond in marked:  # the narrow end is the stereocentre, a carbon
        assert graph.atoms[bond.begin].symbol == "C"


def test_group_labels_are_recorded_as_the_text_drawn() -> None:
    mol = _mol("COc1ccc(CC(=O)O)cc1")
    for abbreviation_set, expected in (
        ("formula", ["COOH", "OCH3"]),
        ("short", ["CO2H", "OMe"]),
        ("spelled", ["CO2H", "OMe"]),  # written CO2H and OCH3: each text is its group's class
    ):
        style = styles.DrawStyle(abbreviate=True, abbreviation_set=abbreviation_set)
        graph = drawing.draw_with_graph(mol, style).graph
        labels = sorted(atom.symbol for atom in graph.atoms if atom.symbol not in ("C", "O"))
        assert labels == expected


def test_atom_positions_are_pixel_centres() -> None:
    """A thick horizontal bond: its ink is centred on the row both atoms are recorded at."""
    style = styles.DrawStyle(width=200, height=161, bond_line_width=4.0)
    drawn = drawing.draw_with_graph(_mol("CC"), style)
    (x0, y0), (x1, y1) = drawn.graph.points
    ink = 255.0 - drawn.image
    rows = np.arange(ink.shape[0])[:, None]
    assert abs(y0 - y1) < 1e-6
    assert abs(float((ink * rows).sum() / ink.sum()) - y0) < 0.05


def test_the_styles_rotation_turns_the_points_with_the_drawing() -> None:
    mol = _mol("CCCCO")
    level = drawing.draw_with_graph(mol, styles.DrawStyle(width=300, height=300)).graph.points
    style = styles.DrawStyle(width=300, height=300, rotation=90.0)
    turned = drawing.draw_with_graph(mol, style).graph.points
    # Anticlockwise on screen: with y down, (x, y) -> (y, -x) about the molecule's centre.
    level, turned = level - level.mean(axis=0), turned - turned.mean(axis=0)
    assert np.allclose(turned, level @ np.array([[0.0, 1.0], [-1.0, 0.0]]).T, atol=0.5)


def test_double_bonds_without_a_geometry_are_drawn_crossed_and_read_back_as_labelled() -> None:
    for smiles, crossed in (("CC=CC(=O)O", 1), ("C/C=C/C(=O)O", 0), ("C=CC", 0)):
        for style in (styles.DrawStyle(), styles.DrawStyle(abbreviate=True)):
            graph = drawing.draw_with_graph(_mol(smiles), style).graph
            assert [bond.kind for bond in graph.bonds].count("crossed") == crossed
            assert molecule_from_graph(graph).inchi == inchi_from_smiles(smiles)


def test_open_stereocentres_are_drawn_wavy_when_asked_and_read_back_as_labelled() -> None:
    cases = {  # SMILES: wavy bonds drawn
        "CC(N)CCC1CCCCN1C": 2,  # two open centres, the ring one through its exocyclic bond
        "C[C@H](N)CCC1CCCCN1C": 1,  # the assigned centre keeps its wedge
        "CC1CCCCC1": 0,  # no stereocentre
    }
    for smiles, wavy in cases.items():
        style = styles.DrawStyle(width=300, height=200, wavy_unknown_centres=True)
        drawn = drawing.draw_with_graph(_mol(smiles), style)
        kinds = [bond.kind for bond in drawn.graph.bonds]
        assert kinds.count("wavy") == wavy, smiles
        assert molecule_from_graph(drawn.graph).inchi == inchi_from_smiles(smiles)
        plain = drawing.draw_with_graph(_mol(smiles), styles.DrawStyle(width=300, height=200))
        assert "wavy" not in [bond.kind for bond in plain.graph.bonds]


def test_ring_positions_are_numbered_when_asked_and_never_read_as_atoms() -> None:
    smiles = "OC[C@H]1O[C@@H](n2cnc3c(N)ncnc32)[C@H](O)[C@@H]1O"  # adenosine: two numbered rings
    plain_style = styles.DrawStyle(width=400, height=300, font_size=16)
    numbered = drawing.draw_with_graph(
        _mol(smiles), dataclasses.replace(plain_style, atom_numbers=True)
    )
    plain = drawing.draw_with_graph(_mol(smiles), plain_style)
    assert (numbered.image < 128).sum() > (plain.image < 128).sum()  # the digits' ink
    assert [a.symbol for a in numbered.graph.atoms] == [a.symbol for a in plain.graph.atoms]
    assert molecule_from_graph(numbered.graph).inchi == inchi_from_smiles(smiles)
    numbers = list(drawing._ring_numbers(_mol(smiles)).values())
    first = sorted(int(n) for n in numbers if not n.endswith("'"))
    assert first == list(range(1, len(first) + 1)) and len(first) in (5, 6)
    assert any(n.endswith("'") for n in numbers)  # the second ring's, primed


def test_chains_between_two_bonds_are_written_as_one_label_and_read_back() -> None:
    cases = {  # SMILES, abbreviation set: the linker label drawn
        ("Oc1ccc(O)c(CCC(C)(C)C)c1", "formula"): "CH2CH2",
        ("CN1CCOCC1CCCCc1ccccc1O", "short"): "(CH2)4",
        ("C[C@H](CCc1ccccc1)N", "spelled"): "CH2CH2",  # a stereocentre at one end
    }
    for (smiles, abbreviation_set), label in cases.items():
        style = styles.DrawStyle(abbreviate=True, abbreviation_set=abbreviation_set, font_size=14)
        drawn = drawing.draw_with_graph(_mol(smiles), style)
        (linker,) = [i for i, atom in enumerate(drawn.graph.atoms) if atom.symbol == label]
        assert sum(linker in bond.pair for bond in drawn.graph.bonds) == 2
        assert molecule_from_graph(drawn.graph).inchi == inchi_from_smiles(smiles)
