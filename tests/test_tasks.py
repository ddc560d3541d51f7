"""tasks.py: the bounded task loop, on a fake runner and on real worker processes."""

from __future__ import annotations

from inchi_lightning.prep.tasks import run_bounded, task_runner


class FakeTasks:
    """Runs each call when submitted and finishes the oldest first; records what was in flight."""

    cpus = 1
    backend = "fake"

    def __init__(self) -> None:
        self.results: dict[object, int] = {}  # handle -> result, while in flight
        self.most_in_flight = 0
        self.cancelled: list[object] = []

    def submit(self, function, call):
        handle = object()
        self.results[handle] = function(*call)
        self.most_in_flight = max(self.most_in_flight, len(self.results))
        return handle

    def wait_any(self, pending):
        return [pending[0]]

    def result(self, handle):
        return self.results.pop(handle)

    def cancel(self, handle):
        self.cancelled.append(handle)


def square(x: int) -> int:
    return x * x


def test_every_call_comes_back_with_its_position_and_at_most_n_run_at_once():
    tasks = FakeTasks()
    results = list(run_bounded(tasks, square, [(i,) for i in range(10)], max_in_flight=3))
    assert sorted(results) == [(i, i * i) for i in range(10)]
    assert tasks.most_in_flight == 3
    assert tasks.cancelled == []


def test_stopping_early_cancels_what_is_still_pending():
    tasks = FakeTasks()
    calls = run_bounded(tasks, square, [(i,) for i in range(10)], max_in_flight=4)
    assert next(calls) == (0, 0)
    calls.close()  # the caller stops: an error or Ctrl-C in the loop that reads the results
    assert len(tasks.cancelled) == 3


def test_worker_processes_run_the_calls():
    with task_runner(address=None, num_cpus=2, processes=True) as tasks:
        results = dict(run_bounded(tasks, square, [(i,) for i in range(6)], max_in_flight=4))
    assert (tasks.backend, tasks.cpus) == ("processes", 2)
    assert results == {i: i * i for i in range(6)}


def test_by_default_two_calls_per_cpu_are_in_flight():
    tasks = FakeTasks()
    tasks.cpus = 3
    results = list(run_bounded(tasks, square, [(i,) for i in range(10)]))
    assert len(results) == 10 and tasks.most_in_flight == 6
