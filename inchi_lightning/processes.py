"""Local worker processes: how many cores this process may use, and the one way to start a pool."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def available_cpus() -> int:
    """The cores this process may run on: its affinity (taskset, cgroups, Slurm), not the
    machine's count, so that a job pinned to 2 of 64 cores starts 2 workers."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def process_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started with spawn.

    Not fork: the caller may be a training process whose threads (and OpenMP or Ray state) a
    fork would copy in an inconsistent state.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=initargs,
    )
