import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inchi_lightning.training.metrics import ExactMatch, LevenshteinDistance


def levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme: the reference the fast metric must agree with."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            substitution = previous[j - 1] + (char_a != char_b)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
        previous = current
    return previous[-1]


# A small alphabet of InChI-like characters makes near-misses, not just unrelated strings.
inchi_like = st.text(alphabet="CHNO123()/-,c", max_size=20)
pairs = st.lists(st.tuples(inchi_like, inchi_like), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_levenshtein_is_the_mean_edit_distance(string_pairs):
    preds, targets = map(list, zip(*string_pairs, strict=True))
    metric = LevenshteinDistance()
    metric.update(preds, targets)
    expected = sum(map(levenshtein, preds, targets)) / len(preds)
    assert metric.compute().item() == pytest.approx(expected)


@settings(max_examples=50, deadline=None)
@given(st.lists(pairs, min_size=1, max_size=4))
def test_updates_accumulate_as_one_big_batch(batches):
    metric = LevenshteinDistance()
    all_pairs = [pair for batch in batches for pair in batch]
    for batch in batches:
        preds, targets = map(list, zip(*batch, strict=True))
        metric.update(preds, targets)
    expected = sum(levenshtein(p, t) for p, t in all_pairs) / len(all_pairs)
    assert metric.compute().item() == pytest.approx(expected)
    assert metric.count.item() == len(all_pairs)


def test_reset_forgets_earlier_updates():
    metric = LevenshteinDistance()
    metric.update(["InChI=1S/CH4"], ["InChI=1S/H2O"])
    metric.reset()
    metric.update(["abc", "abc"], ["abc", "abd"])
    assert metric.compute().item() == pytest.approx(0.5)


def test_exact_match_counts_equal_strings_across_updates():
    metric = ExactMatch()
    metric.update(["a", "b", "c"], ["a", "x", "c"])
    metric.update(["d"], ["d"])
    assert metric.compute().item() == pytest.approx(3 / 4)
    metric.reset()
    metric.update(["a"], ["b"])
    assert metric.compute().item() == 0.0


@pytest.mark.parametrize("metric_class", [LevenshteinDistance, ExactMatch])
def test_mismatched_lengths_are_an_error(metric_class):
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        metric_class().update(["a", "b"], ["a"])


def test_merged_states_weigh_every_sample_equally():
    """What a DDP all-reduce does: one process saw 1 sample, another 3; the mean is over 4."""
    one, three = LevenshteinDistance(), LevenshteinDistance()
    one.update(["abcd"], [""])
    three.update(["a", "b", "c"], ["a", "b", "c"])
    one.merge_state(three)
    assert one.compute().item() == pytest.approx(4 / 4)
