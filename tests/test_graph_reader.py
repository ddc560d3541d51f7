"""reading/graph_reader.py: an image read at the trained side, and again at the sides its bonds
ask for only when that reading is unsure; positions back in the input's pixels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from inchi_lightning.chemistry.molecule import molecule_from_graph
from inchi_lightning.chemistry.molgraph import GraphAtom, GraphBond, MolGraph
from inchi_lightning.imaging import CleanParams
from inchi_lightning.network.encoder import EncoderConfig
from inchi_lightning.network.graph import GraphRecognizer
from inchi_lightning.reading import graph_reader
from inchi_lightning.reading.graph_reader import (
    GraphImageReader,
    decode_settings,
    network_config,
)
from inchi_lightning.reading.vote import VoteGate


def chain(bond: float, end: str = "C", score: float = 1.0) -> MolGraph:
    """Propane (or, with ``end`` "O", ethanol) drawn with bonds ``bond`` px long."""
    atoms = [GraphAtom(10 + i * bond, 10, "C", score=score) for i in range(2)]
    atoms.append(GraphAtom(10 + 2 * bond, 10, end, score=score))
    return MolGraph(atoms, [GraphBond(0, 1, "single"), GraphBond(1, 2, "single")])


PROPANE, ETHANOL = (molecule_from_graph(chain(10.0, end)).inchi for end in ("C", "O"))


def tiny_reader(gate: VoteGate, target: float = 24.0) -> GraphImageReader:
    encoder = EncoderConfig(name="resnet18", weights="none")
    net = GraphRecognizer(network_config(encoder, head_channels=16))
    settings = decode_settings(0.3, 0.0)
    return GraphImageReader(net, CleanParams(image_size=192), settings, target, gate)


@pytest.fixture
def fake_network(monkeypatch):
    """Images whose every pixel is their row number, read as ``read(row, side)`` says; the
    sides each row was read at are recorded."""
    read_at: dict[int, list[int]] = {}

    def install(read):
        def clean(gray, params):  # the row number survives cleaning; no geometry
            side = params.image_size
            return np.full((side, side), gray[0, 0], np.uint8), np.eye(3)[:2]

        def read_graphs(net, images, settings, bf16=False):
            side = images.shape[-1]
            rows = [int(i) for i in images[:, 0, 0, 0]]
            read_at[side] = rows
            return [read(row, side) for row in rows]

        monkeypatch.setattr(graph_reader, "_clean", clean)
        monkeypatch.setattr(graph_reader, "read_graphs", read_graphs)
        return read_at

    return install


def rows(count: int) -> list[np.ndarray]:
    return [np.full((4, 4), row, np.uint8) for row in range(count)]


def test_unsure_drawings_are_read_at_the_sides_around_the_trained_bond_length_which_vote(
    fake_network,
):
    # At 192 px image 0 has 16 px bonds (it wants 288 px) and reads as ethanol at 224, 256 and
    # 288 only; image 1 has the trained 24 px bonds and reads as ethanol at 192 only.
    at_192 = {0: 16.0, 1: 24.0}
    ethanol_at = {0: {224, 256, 288}, 1: {192}}
    read_at = fake_network(
        lambda row, side: chain(at_192[row] * side / 192, "O" if side in ethanol_at[row] else "C")
    )
    reader = tiny_reader(VoteGate("always"))
    readings = reader.read(rows(2))
    # Image 0 at the five sides nearest 288: ethanol with 18.7, 21.3 and 24 px bonds (0.78 +
    # 0.89 + 1) beats propane's 26.7 and 29.3 px (0.9 + 0.82); image 1 at 192 and the four
    # nearest: propane four times (0.83 + 0.86 + 0.75 + 0.67) beats ethanol (1).
    assert [r.inchi for r in readings] == [ETHANOL, PROPANE]
    assert read_at == {
        192: [0, 1], 128: [1], 160: [1], 224: [0, 1], 256: [0, 1], 288: [0], 320: [0], 352: [0],
    }  # fmt: skip
    never = tiny_reader(VoteGate("never")).read(rows(2))
    assert [r.inchi for r in never] == [PROPANE, ETHANOL]


def test_a_vote_counts_each_readings_confidence(fake_network):
    # Image 1's four propanes read with atoms of score 0.2 lose to its one certain ethanol.
    fake_network(lambda row, side: chain(24.0 * side / 192, "O" if side == 192 else "C", 0.2))
    (reading,) = tiny_reader(VoteGate("always")).read(rows(1))
    assert reading.inchi == PROPANE  # all at 0.2: four propanes outvote one ethanol
    fake_network(
        lambda row, side: chain(24.0 * side / 192, *(("O", 1.0) if side == 192 else ("C", 0.2)))
    )
    (reading,) = tiny_reader(VoteGate("always")).read(rows(1))
    assert reading.inchi == ETHANOL


def test_a_drawing_with_long_bonds_is_read_smaller_than_the_trained_side(fake_network):
    """A small molecule in a real drawing fills the image: at 192 px its bonds are twice the
    trained 24 px, so it is read at 96 px, where it is sure, and that reading stands; voting
    on every image, the sides nearest 96 are read too, and the same reading wins."""
    read_at = fake_network(lambda row, side: chain(48.0 * side / 192, "O" if side <= 128 else "C"))
    (reading,) = tiny_reader(VoteGate("auto")).read(rows(1))
    assert sorted(read_at) == [96, 192] and reading.inchi == ETHANOL
    read_at.clear()
    (reading,) = tiny_reader(VoteGate("always")).read(rows(1))
    assert sorted(read_at) == [96, 128, 160, 192, 224]
    # 96 and 128 px (1 + 0.75) outvote 160, 192 and 224 (0.6 + 0.5 + 0.43).
    assert reading.inchi == ETHANOL


def test_a_reading_still_unsure_at_the_side_its_bonds_ask_for_goes_to_the_vote(fake_network):
    # Bonds of 48 px at 192 ask for 96, where the reading is propane with a weak atom; 128 and
    # 160 px read ethanol, surely, and outvote it (0.75 + 0.6 against 1 x 0.4).
    read_at = fake_network(
        lambda row, side: chain(48.0 * side / 192, *(("C", 0.4) if side <= 96 else ("O", 1.0)))
    )
    (reading,) = tiny_reader(VoteGate("auto", confidence=0.5)).read(rows(1))
    assert sorted(read_at) == [96, 128, 160, 192, 224] and reading.inchi == ETHANOL


def test_a_sure_first_reading_is_not_read_again(fake_network):
    # Image 0 is read at the trained scale with certain atoms; image 1 with a weak one.
    read_at = fake_network(lambda row, side: chain(24.0 * side / 192, score=0.4 + 0.6 * (1 - row)))
    readings = tiny_reader(VoteGate("auto", confidence=0.5)).read(rows(2))
    assert read_at[192] == [0, 1]
    assert all(image_rows == [1] for side, image_rows in read_at.items() if side != 192)
    assert [r.inchi for r in readings] == [PROPANE, PROPANE]


def test_without_a_trained_bond_length_an_image_is_read_once(fake_network):
    read_at = fake_network(lambda row, side: chain(10.0, score=0.1))
    tiny_reader(VoteGate("always"), target=0.0).read(rows(1))
    assert list(read_at) == [192]


def test_the_positions_read_go_back_to_the_input_images_pixels(monkeypatch):
    """A drawing cleaned smaller and shifted comes back where the input drew it, in the
    reading's graph and its mol file (y negated)."""
    matrix = np.array([[0.5, 0.0, 3.0], [0.0, 0.5, 7.0]])  # what cleaning did to the input

    def clean(gray, params):
        return np.zeros((params.image_size,) * 2, np.uint8), matrix

    monkeypatch.setattr(graph_reader, "_clean", clean)
    monkeypatch.setattr(graph_reader, "read_graphs", lambda *a, **k: [chain(24.0, "O")])
    (reading,) = tiny_reader(VoteGate("never")).read(rows(1))
    assert np.allclose(reading.graph.points[:, 0], [14.0, 62.0, 110.0])  # (10 - 3) / 0.5, ...
    assert np.allclose(reading.graph.points[:, 1], 6.0)  # (10 - 7) / 0.5
    from rdkit import Chem

    mol = Chem.MolFromMolBlock(reading.molfile)
    xy = sorted(tuple(round(c, 3) for c in mol.GetConformer().GetAtomPosition(i))[:2]
                for i in range(3))  # fmt: skip
    assert xy == [(14.0, -6.0), (62.0, -6.0), (110.0, -6.0)]
    assert Chem.MolToInchi(mol) == ETHANOL == reading.inchi


def test_an_image_of_specks_only_gets_its_reason_and_the_rest_are_read(monkeypatch):
    monkeypatch.setattr(graph_reader, "read_graphs", lambda *a, **k: [chain(24.0)])
    drawn = np.full((40, 40), 255, np.uint8)
    drawn[10:30, 18:22] = 0
    blank_then_drawn = [np.full((8, 8), 255, np.uint8), drawn]
    readings = tiny_reader(VoteGate("never")).read(blank_then_drawn)
    assert readings[0].error == "empty image" and readings[0].inchi == ""
    assert readings[1].inchi == PROPANE and not readings[1].error


def test_read_cleaned_reads_shard_images_as_they_are(monkeypatch):
    monkeypatch.setattr(graph_reader, "read_graphs", lambda *a, **k: [chain(24.0, "O")] * 2)
    images = torch.zeros(2, 1, 192, 192, dtype=torch.uint8)
    readings = tiny_reader(VoteGate("always")).read_cleaned(images)
    assert [r.inchi for r in readings] == [ETHANOL, ETHANOL]
    assert dataclasses.asdict(readings[0])["candidates"] == (ETHANOL,)


@pytest.mark.parametrize("gate", [VoteGate("auto", 0.5, 1.25), VoteGate("always")])
def test_choose_over_every_sides_readings_replays_what_read_keeps(fake_network, gate):
    # Image 0 sure at 192; image 1 weak at 192 and sure where its bonds ask; image 2 weak
    # everywhere, so it goes to the vote.
    bond, score = {0: 24.0, 1: 16.0, 2: 16.0}, {0: 1.0, 1: 0.4, 2: 0.4}

    def read(row, side):
        sure_here = row == 0 or (row == 1 and side == 288)
        end = "O" if side in (224, 256, 288) else "C"
        return chain(bond[row] * side / 192, end, 1.0 if sure_here else score[row])

    fake_network(read)
    reader = tiny_reader(gate)
    readings = reader.read(rows(3))
    replayed = [reader.choose(voters, by_side) for voters, by_side in reader.side_readings(rows(3))]
    assert [r.molecule.inchi for r in replayed] == [r.inchi for r in readings]
