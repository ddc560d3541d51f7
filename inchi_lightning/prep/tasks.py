"""Where a job's tasks run: Ray tasks (a local Ray or a cluster) or local worker processes, and
a bounded number of them in flight at a time.

``preprocess`` runs its RDKit checks and its shards through ``run_bounded`` on what
``task_runner`` gives it; results come back as calls finish, in any order, with their position.
``synth`` and ``molecules`` use ``in_order`` over any ``map``-like instead (``Mapper``: the
builtin, or a process pool's): results in task order, a wave of tasks in flight at a time.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from inchi_lightning.processes import available_cpus, process_pool

Mapper = Callable[[Callable, Iterable], Iterator]


def chunks(items: Sequence, size: int) -> list:
    return [items[start : start + size] for start in range(0, len(items), size)]


def in_order(mapper: Mapper, function: Callable, tasks: Sequence, wave: int) -> Iterator:
    """``function`` over ``tasks``, results in task order, ``wave`` tasks in flight at a time.

    Waves keep parallel work bounded when the caller stops reading early; the order of results
    never depends on how many processes ran them.
    """
    for start in range(0, len(tasks), wave):
        for result in mapper(function, tasks[start : start + wave]):
            yield from result


class RayTasks:
    """Calls run as Ray tasks of one CPU each, on a local Ray or a cluster."""

    def __init__(self, cpus: int) -> None:
        self.cpus = cpus
        self.backend = "ray"
        self._remotes: dict[Callable, Any] = {}  # one registration per function, not per call

    def submit(self, function: Callable, call: tuple) -> Any:
        import ray

        if function not in self._remotes:
            self._remotes[function] = ray.remote(num_cpus=1)(function)
        return self._remotes[function].remote(*call)

    def wait_any(self, pending: Sequence) -> list:
        import ray

        ready, _ = ray.wait(list(pending), num_returns=1)
        return ready

    def result(self, handle: Any) -> Any:
        import ray

        return ray.get(handle)

    def cancel(self, handle: Any) -> None:
        import ray

        ray.cancel(handle)


class ProcessTasks:
    """Calls run in local worker processes: the same job where Ray is not installed (a GPU
    machine that cannot carry Ray's wheels) or not wanted."""

    def __init__(self, executor: ProcessPoolExecutor, cpus: int) -> None:
        self.executor = executor
        self.cpus = cpus
        self.backend = "processes"

    def submit(self, function: Callable, call: tuple) -> Future:
        return self.executor.submit(function, *call)

    def wait_any(self, pending: Sequence[Future]) -> list[Future]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Future) -> Any:
        return handle.result()

    def cancel(self, handle: Future) -> None:
        handle.cancel()


Tasks = RayTasks | ProcessTasks


def run_bounded(
    tasks: Tasks, function: Callable, calls: Sequence[tuple], max_in_flight: int | None = None
) -> Iterator[tuple[int, Any]]:
    """Run ``function(*call)`` for every call on ``tasks``, at most ``max_in_flight`` at a
    time (default: two per CPU, so that no worker waits for its next call); yield ``(position
    of the call, result)`` as calls finish. Pending calls are cancelled when the caller stops
    early (an error, Ctrl-C)."""
    max_in_flight = max_in_flight or 2 * tasks.cpus
    todo, pending = deque(enumerate(calls)), {}
    try:
        while todo or pending:
            while todo and len(pending) < max_in_flight:
                position, call = todo.popleft()
                pending[tasks.submit(function, call)] = position
            for handle in tasks.wait_any(list(pending)):
                yield pending.pop(handle), tasks.result(handle)
    finally:
        for handle in pending:
            tasks.cancel(handle)


@contextlib.contextmanager
def task_runner(address: str | None, num_cpus: int | None, processes: bool) -> Iterator[Tasks]:
    """Where the job's tasks run: local worker processes (``processes``), or Ray: ``address``,
    else a local Ray (a Ray already initialised in this process is used as it is). Stops only
    what it started."""
    if processes:
        cpus = num_cpus or available_cpus()
        with process_pool(cpus) as executor:
            yield ProcessTasks(executor, cpus)
        return
    import ray

    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address, log_to_driver=False)
    elif started:
        ray.init(
            num_cpus=num_cpus or available_cpus(), include_dashboard=False, log_to_driver=False
        )
    try:
        yield RayTasks(max(1, int(ray.cluster_resources().get("CPU", 1))))
    finally:
        if started:
            ray.shutdown()
