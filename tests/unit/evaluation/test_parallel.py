"""Work items side by side: results in item order, one intra-op thread each, first error stops the run."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from instructmtl.evaluation.parallel import PerThread, resolve_workers, run_all


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_items_overlap_and_results_keep_item_order(two_threads) -> None:
    first_may_finish = threading.Event()
    seen_threads: list[int] = []

    def first() -> str:
        # finishes only after the second item ran: passes only if the two run at once
        assert first_may_finish.wait(timeout=10)
        seen_threads.append(torch.get_num_threads())
        return "first"

    def second() -> str:
        seen_threads.append(torch.get_num_threads())
        first_may_finish.set()
        return "second"

    assert run_all([first, second], workers=2) == ["first", "second"]
    assert seen_threads == [1, 1]  # each item on one intra-op thread while several run
    assert torch.get_num_threads() == 2  # restored after


def test_one_worker_runs_in_order_with_the_threads_as_they_are(two_threads) -> None:
    calls: list[tuple[int, int]] = []
    items = [lambda i=i: calls.append((i, torch.get_num_threads())) or i for i in range(3)]
    assert run_all(items, workers=1) == [0, 1, 2]
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_costliest_items_start_first_and_results_keep_item_order(two_threads) -> None:
    started: list[str] = []
    lock = threading.Lock()

    def item(name: str) -> str:
        with lock:
            started.append(name)
        time.sleep(0.02)
        return name

    names = ["small", "big", "medium", "tiny"]
    out = run_all([lambda n=n: item(n) for n in names], workers=2, costs=[3, 5, 4, 0])
    assert out == names
    assert started[:2] == ["big", "medium"] or started[:2] == ["medium", "big"]
    assert started[2:] == ["small", "tiny"]


def test_first_error_is_raised_and_pending_items_are_cancelled(two_threads) -> None:
    ran: list[int] = []

    def fails() -> None:
        raise ValueError("item 0 failed")

    def slow(i: int) -> int:
        time.sleep(0.05)
        ran.append(i)
        return i

    items = [fails, *[lambda i=i: slow(i) for i in range(1, 20)]]
    with pytest.raises(ValueError, match="item 0 failed"):
        run_all(items, workers=2)
    assert len(ran) < 10  # not started items were dropped, not run to the end
    assert torch.get_num_threads() == 2


def test_workers_default_to_intra_op_threads_on_cpu_and_one_on_gpu(two_threads) -> None:
    assert resolve_workers(None, torch.device("cpu")) == 2
    assert resolve_workers(None, torch.device("cuda")) == 1
    assert resolve_workers(3, torch.device("cpu")) == 3


def test_per_thread_gives_the_owner_the_original_and_other_threads_their_own_copy(two_threads) -> None:
    original: dict[str, list[str]] = {"seen": []}
    shared = PerThread(original)
    assert shared.get() is original
    both_started = threading.Barrier(2, timeout=10)

    def in_worker(name: str) -> int:
        both_started.wait()  # two threads at once, so each makes its own copy
        mine = shared.get()
        mine["seen"].append(name)
        assert shared.get() is mine  # kept for the thread's later items
        return id(mine)

    ids = run_all([lambda: in_worker("a"), lambda: in_worker("b")], workers=2)
    assert len(set(ids)) == 2 and id(original) not in ids
    assert original == {"seen": []}  # deep copies: the workers' changes never reach the original
