"""The local executor's in-process worker: one job at a time, in a daemon thread, with a standard Future."""

from __future__ import annotations

import os
import threading

import pytest

from instructmtl.study.executors import _HereWorker


def test_runs_in_a_daemon_thread_of_this_process_and_returns_through_the_future() -> None:
    here = _HereWorker()
    release = threading.Event()

    def job() -> tuple[int, bool, bool]:
        release.wait(timeout=10)
        thread = threading.current_thread()
        return os.getpid(), thread.daemon, thread is threading.main_thread()

    future = here.submit(job)
    assert not here.free()  # busy until the job ends
    release.set()
    assert future.result(timeout=10) == (os.getpid(), True, False)
    assert here.free()


def test_an_error_reaches_whoever_reads_the_future_and_frees_the_worker() -> None:
    here = _HereWorker()

    def job() -> bool:
        raise ValueError("job failed")

    future = here.submit(job)
    here.wait()
    with pytest.raises(ValueError, match="job failed"):
        future.result()
    assert here.free()


def test_refuses_a_second_job_while_one_runs() -> None:
    here = _HereWorker()
    release = threading.Event()
    here.submit(lambda: release.wait(timeout=10))
    with pytest.raises(RuntimeError, match="one job at a time"):
        here.submit(lambda: True)
    release.set()
    here.wait()
