"""reading/vote.py: the sides an image is read at, the vote among them, and when it is held."""

import pytest

from inchi_lightning.reading.vote import VoteGate, reading_sides, scale_vote, voting_sides


def test_an_image_may_be_read_at_half_to_twice_the_trained_side_in_steps_of_32():
    assert reading_sides(192) == (96, 128, 160, 224, 256, 288, 320, 352, 384)
    assert reading_sides(256) == (128, 160, 224, 288, 352, 384, 416, 480, 512)


def test_the_voting_sides_centre_on_the_side_the_bonds_ask_for():
    sides = [256, 128, 160, 224, 288, 352, 384]  # the trained side first
    assert voting_sides(15.0, 30.0, sides, 3) == [384, 352, 288]  # bonds ask for 512 px
    assert voting_sides(36.0, 30.0, sides, 2) == [224, 256]  # 213 px: 224, then 256 (32 off)
    assert voting_sides(0.0, 30.0, sides, 3) == [256, 224, 288]  # no bonds: the trained side


def test_a_scale_vote_weighs_bond_closeness_times_confidence_and_ties_go_first():
    assert scale_vote(["A", "B"], [1.0, 1.0], [30.0, 30.0], 30.0) == 0
    assert scale_vote(["A", "B", "B"], [0.9, 0.5, 0.5], [30.0, 30.0, 30.0], 30.0) == 1
    assert scale_vote(["A", "B", "B"], [0.9, 0.5, 0.5], [30.0, 60.0, 15.0], 30.0) == 0
    assert scale_vote(["A", "B"], [1.0, 0.1], [0.0, 30.0], 30.0) == 1  # no bonds: no weight


def test_a_sure_first_reading_stands_alone_and_an_unsure_one_goes_to_the_vote():
    gate = VoteGate("auto", confidence=0.5, bond_ratio=1.25)
    assert not gate.votes(True, 0.6, 30.0, 30.0)
    assert gate.votes(True, 0.4, 30.0, 30.0)  # a weak atom or bond
    assert gate.votes(False, 0.9, 30.0, 30.0)  # RDKit refused the graph
    assert gate.votes(True, 0.9, 0.0, 30.0)  # no bonds: no scale to trust
    assert gate.votes(True, 0.9, 40.0, 30.0) and gate.votes(True, 0.9, 20.0, 30.0)  # 1.33, 0.67
    assert not gate.votes(True, 0.9, 36.0, 30.0) and not gate.votes(True, 0.9, 25.0, 30.0)
    assert VoteGate("always").votes(True, 1.0, 30.0, 30.0)
    assert not VoteGate("never").votes(False, 0.0, 0.0, 30.0)
    with pytest.raises(ValueError, match="auto, always or never"):
        VoteGate("sometimes")
