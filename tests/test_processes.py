"""processes.py: the cores a process may use, and its spawn pool."""

import os

import pytest

from inchi_lightning.processes import available_cpus, process_pool


def test_cpu_count_follows_the_affinity_not_the_machine():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert available_cpus() == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert available_cpus() == len(allowed)


def test_the_pool_spawns_its_workers():
    with process_pool(1) as pool:
        assert pool.submit(os.getpid).result() != os.getpid()
        assert pool._mp_context.get_start_method() == "spawn"
