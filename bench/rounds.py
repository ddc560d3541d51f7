"""Interleaved benchmark rounds, and a fresh process per run, shared by the bench scripts.

A benchmark that measures setup A, then B, then C credits any change in the machine's load to
whichever setup ran at the time. Running every setup once per round, each round starting one
setup later, spreads such a change over all of them; ratios are then taken within a round.
A run in a process of its own has its own peak memory and no caches warmed by the runs before.
"""

from __future__ import annotations

import resource
import statistics
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TypeVar

T = TypeVar("T")


def interleaved(items: Sequence[T], rounds: int) -> Iterator[T]:
    """Every item once per round, round r starting at item r: a b c, b c a, c a b, ..."""
    for round_index in range(rounds):
        yield from rotated(items, round_index)


def rotated(items: Sequence[T], round_index: int) -> list[T]:
    """The order of round ``round_index``: the items starting at item ``round_index``."""
    shift = round_index % len(items)
    return list(items[shift:]) + list(items[:shift])


def median_ratio(values: Sequence[float], baseline: Sequence[float]) -> float:
    """The median over rounds of ``values[r] / baseline[r]``."""
    return statistics.median(v / b for v, b in zip(values, baseline, strict=True))


def in_fresh_process(function: Callable[..., T], *args) -> T:
    """``function(*args)`` in a new (spawned) process, which ends with it."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak RSS in MB of this process, or with ``RUSAGE_CHILDREN`` of its largest ended child."""
    return resource.getrusage(who).ru_maxrss / 2**10
