"""The molecule as drawn (synth's annotations): on the ink, the same molecule, stored and read.

Images are made exactly as synth makes them (``render.render_annotated``, BMS and patent styles
with their damage), so what holds here holds for the annotations of a dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from rdkit import Chem

from inchi_lightning.chemistry.inchi import inchi_from_smiles, mol_from_smiles
from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import GROUP_LABELS, MolGraph
from inchi_lightning.imaging import CleanParams, clean_with_transform
from inchi_lightning.network.graph import MAX_BOND_LENGTH, bond_radius, candidate_pairs
from inchi_lightning.prep import annotations, render, synth

SEED = 6  # turns BMS images both ways (checked below)

# Stereo (wedges, ring-fusion hydrogens, E/Z), charges, groups the drawings abbreviate.
MOLECULES = [
    "CN1CCC[C@H]1c1cccnc1", "COC(=O)[C@@H](N)Cc1ccccc1", "C[C@H]1CC[C@@H]2CCCC[C@H]2C1",
    "C[C@]12CC[C@H]3[C@@H](CC=C4C[C@@H](O)CC[C@@]43C)[C@@H]1CC[C@@H]2O",
    "OC[C@H]1O[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O", "C/C=C/C(=O)OCC", "Cl/C=C\\c1ccccc1",
    "CC(C)(C)OC(=O)N[C@@H](Cc1ccccc1)C(=O)O", "O=[N+]([O-])c1cccc(C(F)(F)F)c1",
    "C[N+](C)(C)CCOC(=O)C", "COc1ccc(CC(=O)O)cc1", "CCOC(=O)c1ccccc1NC(C)=O",
    "OC(=O)c1ccc(cc1)C(F)(F)F", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "NS(=O)(=O)c1ccc(N)cc1", "CCN(CC)CCOC(=O)c1ccc(N)cc1", "N#Cc1ccc(OCC2CC2)cc1",
    "CSc1nc2ccccc2s1", "COc1cc(C=O)ccc1O", "c1ccc2c(c1)oc1ccccc12", "CCOc1ccc(S(=O)(=O)Cl)cc1",
    "CC(C)(C)c1ccc(O)cc1", "[O-]C(=O)C[NH3+]", "CC(=O)Oc1ccccc1C(=O)O", "CCCCCCOC(=O)CBr",
    "O=C(O)C=Cc1ccccc1", "CCC(C)(C)N=Cc1ccccc1", "Brc1cccs1", "CC(C)NCC(O)COc1cccc2ccccc12",
]  # fmt: skip
# Double bonds the molecule leaves open (E or Z): drawn crossed, so read without a /b layer.
OPEN_DOUBLE_BONDS = {"O=C(O)C=Cc1ccccc1", "CCC(C)(C)N=Cc1ccccc1"}
# RDKit draws one of its bonds 2.19 median neighbour distances long.
ADAMANTANE = "CC(=O)NC12CC3CC(CC(C3)C1)C2"

BARE_ATOM_RADIUS = 3.0  # px: lines meet at a bare carbon
TEXT_RADIUS = 0.3  # of the font size: a label's glyph is about 0.7 font sizes high, round


def _fraction(index: int) -> float:
    """Patent fractions 0 and 1 in turn: BMS and patent drawings alternate."""
    return float(index % 2)


@pytest.fixture(scope="module")
def drawn() -> list[tuple[str, int, object]]:
    """(SMILES, plan index, DrawnMolecule) of every molecule, drawn as synth draws them."""
    return [
        (smiles, index, render.render_annotated(smiles, SEED, index, _fraction(index)))
        for index, smiles in enumerate(MOLECULES)
    ]


def _radii(smiles: str, index: int, graph: MolGraph) -> np.ndarray:
    """(atoms,): how far from ink each atom may lie, in the drawing's pixels.

    Bare carbons sit where their lines meet; atoms drawn as text (every other element, group
    labels, carbons written out as CH3 in the styles that write them) inside their first
    glyph, whose middle may be the hole of an O.
    """
    style, *_ = render.recipe(mol_from_smiles(smiles), SEED, index, _fraction(index))
    text = max(BARE_ATOM_RADIUS, TEXT_RADIUS * style.font_size)
    carbons_written = style.explicit_methyl or style.label_chain_carbons
    radii = [
        BARE_ATOM_RADIUS if atom.symbol == "C" and not carbons_written else text
        for atom in graph.atoms
    ]
    return np.array(radii)


def _distances_to_ink(image: np.ndarray, points: np.ndarray, ink_below: int) -> np.ndarray:
    """(points,): each point's distance to the nearest pixel darker than ``ink_below``."""
    paper = (image >= ink_below).astype(np.uint8)
    distance = cv2.distanceTransform(paper, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    height, width = image.shape
    cols, rows = np.round(points).astype(int).T
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    assert inside.all(), f"points outside the {width} x {height} image: {points[~inside]}"
    return distance[rows, cols]


def test_the_sample_covers_both_styles_turns_stereo_and_groups(drawn) -> None:
    kinds = {render.style_kind(SEED, index, _fraction(index)) for _, index, _ in drawn}
    assert kinds == {"bms", "patent"}
    turns = [render.recipe(mol_from_smiles(s), SEED, i, _fraction(i))[1] for s, i, _ in drawn]
    assert {damage.quarter_turns for damage in turns} == {0, 1, 3}
    kinds_drawn = {bond.kind for _, _, item in drawn for bond in item.graph.bonds}
    assert {"wedge", "hash"} <= kinds_drawn
    symbols = {atom.symbol for _, _, item in drawn for atom in item.graph.atoms}
    assert len(symbols & set(GROUP_LABELS)) >= 3 and "H" in symbols


def test_every_atom_lies_on_ink_in_the_final_image(drawn) -> None:
    for smiles, index, item in drawn:
        distances = _distances_to_ink(item.image, item.graph.points, ink_below=128)
        radii = _radii(smiles, index, item.graph)
        off = [
            (item.graph.atoms[i].symbol, round(float(distances[i]), 1))
            for i in np.flatnonzero(distances > radii)
        ]
        assert not off, f"{smiles} (index {index}): atoms off the ink {off}"


def test_every_atom_lies_on_ink_after_clean(drawn) -> None:
    params = CleanParams()
    for smiles, index, item in drawn:
        image, matrix = clean_with_transform(item.image, params)
        points = item.graph.transformed(matrix).points
        scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        distances = _distances_to_ink(image, points, ink_below=params.threshold)
        radii = _radii(smiles, index, item.graph) * scale + 1.0  # resampling blurs a pixel
        off = np.flatnonzero(distances > radii)
        assert off.size == 0, f"{smiles} (index {index}): atoms {off} off the ink after clean"


@pytest.mark.parametrize("index", [0, 1])  # BMS, patent
def test_every_drawn_bond_is_a_candidate_pair_even_adamantanes_long_one(index: int) -> None:
    graph = render.render_annotated(ADAMANTANE, SEED, index, _fraction(index)).graph
    points = torch.tensor(graph.points, dtype=torch.float64)
    pairs = candidate_pairs(points, bond_radius(points, MAX_BOND_LENGTH)).tolist()
    drawn_bonds = sorted(sorted((bond.begin, bond.end)) for bond in graph.bonds)
    assert [pair for pair in drawn_bonds if pair not in pairs] == []


def _has_open_double_bond(smiles: str) -> bool:
    mol = mol_from_smiles(smiles)
    return any(
        info.type == Chem.StereoType.Bond_Double
        and info.specified == Chem.StereoSpecified.Unspecified
        for info in Chem.FindPotentialStereo(mol)
    )


def test_the_graph_reads_back_as_the_drawn_molecule(drawn) -> None:
    for smiles, index, item in drawn:
        label = inchi_from_smiles(smiles)
        reading = molecule_from_graph(item.graph)
        crossed = [bond.kind for bond in item.graph.bonds].count("crossed")
        assert crossed == (smiles in OPEN_DOUBLE_BONDS) == _has_open_double_bond(smiles)
        assert reading.inchi == label, f"{smiles} (index {index}): {reading.repairs}"


# --- the dataset's annotations file -----------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("annotated")
    smiles_file = folder / "molecules.smi"
    smiles_file.write_text("\n".join(MOLECULES[:10]) + "\n")
    synth.synthesise(
        folder / "out", 10, seed=SEED, smiles_file=smiles_file, num_workers=0, progress=False,
        patent_fraction=0.5,
    )  # fmt: skip
    return folder / "out"


def test_the_annotations_file_matches_the_images_and_round_trips(dataset: Path) -> None:
    labels = (dataset / synth.LABELS_NAME).read_text().splitlines()[1:]
    ids = [line.split(",", 1)[0] for line in labels]
    graphs = annotations.read_annotations(dataset)
    assert list(graphs) == ids
    plan = synth._plan(
        [(1, smiles) for smiles in MOLECULES[:10]], 10, SEED, None, 1, check_all=False
    )[0]
    for entry in plan:
        again = render.render_annotated(entry.smiles, SEED, entry.index, 0.5)
        png = cv2.imread(str(synth.image_path(dataset, entry.image_id)), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(png, again.image)
        assert graphs[entry.image_id] == MolGraph.from_dict(again.graph.to_dict())
        stored = graphs[entry.image_id]
        assert MolGraph.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored


def test_a_dataset_without_annotations_has_none(tmp_path: Path) -> None:
    (tmp_path / synth.LABELS_NAME).write_text("image_id,InChI\n")
    assert annotations.read_annotations(tmp_path) == {}


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        '["a list"]',
        '{"image_id": "abc"}',
        '{"image_id": 7, "graph": null}',
        '{"image_id": "abc", "graph": {"atoms": [[0, 0, "Xx"]], "bonds": []}}',
        '{"image_id": "abc", "graph": {"atoms": [], "bonds": [[0, 1, "-"]]}}',
    ],
)
def test_a_corrupt_annotations_file_is_refused_naming_its_line(
    dataset: Path, tmp_path: Path, line: str
) -> None:
    good = (dataset / annotations.ANNOTATIONS_NAME).read_text().splitlines(keepends=True)
    (tmp_path / annotations.ANNOTATIONS_NAME).write_text("".join(good[:2]) + line + "\n")
    with pytest.raises(annotations.AnnotationError, match=r"line 3: not an annotation record"):
        annotations.read_annotations(tmp_path)


def test_an_image_that_cannot_be_recorded_keeps_its_place_without_a_graph(
    tmp_path: Path,
) -> None:
    drawn = render.render_annotated("[Na+].[Na+].[S-2]", SEED, 0)  # -2: no class
    assert drawn.graph is None and "charge -2" in drawn.problem
    line = annotations.record_line("abc", drawn.graph, drawn.problem)
    assert json.loads(line) == {"image_id": "abc", "graph": None, "problem": drawn.problem}
    (tmp_path / annotations.ANNOTATIONS_NAME).write_text(line)
    assert annotations.read_annotations(tmp_path) == {}
