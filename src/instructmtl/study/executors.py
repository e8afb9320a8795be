"""Executors run the jobs of a study; the results store is the single source of truth for all of them.

``local`` runs jobs in this process (``workers: 1``) or in a pool of worker
processes that split the machine's cores; ``ray`` sends them to a Ray cluster
(``pip install instructmtl[ray]``; a local instance when no address is given).
Every executor only ever hands out jobs whose dependencies are done, and every
job claims itself in the store first, so two executors on one study never run a
job twice and a killed study loses nothing that was recorded.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Protocol, TypeVar

from instructmtl.errors import ConfigError
from instructmtl.study.jobs import Job, StudyContext, execute

if TYPE_CHECKING:
    from ray import ObjectRef

#: Called after each finished job with (job, ran): ``ran`` is False when the job was already done.
OnDone = Callable[[Job, bool], None]


class _Pending(Protocol):
    """A running job as the scheduler sees it: a process-pool future or a Ray object ref."""

    def result(self) -> bool: ...


P = TypeVar("P", bound=_Pending)


def ready_jobs(jobs: Sequence[Job], done: set[str], started: set[str]) -> Iterator[Job]:
    """Jobs not yet started whose dependencies are all done, in graph order."""
    for job in jobs:
        if job.job_id not in started and job.job_id not in done and all(d in done for d in job.deps):
            yield job


def run_local(jobs: Sequence[Job], ctx: StudyContext, done: set[str], workers: int, on_done: OnDone) -> None:
    """Runs the pending jobs here (``workers == 1``) or in ``workers`` workers: this process and ``workers - 1``.

    This process is one of the workers because it has already imported torch,
    transformers and the scorers (seconds per process): a spawned worker pays
    that once more before its first job, while this one starts at once.
    """
    if workers == 1:
        for job in jobs:
            if job.job_id not in done:
                on_done(job, execute(job, ctx))
                done.add(job.job_id)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    here = _HereWorker()
    # spawn, not fork: torch and its thread pools must not be forked mid-flight
    with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn")) as pool:

        def submit(job: Job) -> Future[bool]:
            if here.free():
                return here.submit(execute, job, ctx, threads)
            return pool.submit(execute, job, ctx, threads)

        try:
            _schedule(jobs, done, submit, on_done, limit=workers, waiter=_futures_wait)
        except Exception:
            here.wait()  # a failed job stops the study after the running ones end, here as in the pool
            raise


def run_ray(
    jobs: Sequence[Job], ctx: StudyContext, done: set[str], workers: int, address: str | None, on_done: OnDone
) -> None:
    """Runs the pending jobs as Ray tasks, at most ``workers`` at once."""
    try:
        import ray
    except ImportError:
        raise ConfigError("executor 'ray' needs Ray: pip install 'instructmtl[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    remote = ray.remote(num_cpus=1)(execute)
    try:
        # ray's stubs type a remote function by its required parameters only; execute's third is optional
        _schedule(
            jobs,
            done,
            lambda job: _RayFuture(remote.remote(job, ctx, 1)),  # type: ignore[call-arg]
            on_done,
            limit=workers,
            waiter=_ray_wait,
        )
    finally:
        if started_here:
            ray.shutdown()


def _schedule(
    jobs: Sequence[Job],
    done: set[str],
    submit: Callable[[Job], P],
    on_done: OnDone,
    *,
    limit: int | None,
    waiter: Callable[[list[P]], list[P]],
) -> None:
    """Keeps submitting ready jobs until all are done; a failed job stops the study (after running ones end)."""
    running: dict[P, Job] = {}
    started: set[str] = set()
    while True:
        for job in ready_jobs(jobs, done, started):
            if limit is not None and len(running) >= limit:
                break
            running[submit(job)] = job
            started.add(job.job_id)
        if not running:
            return
        finished = waiter(list(running))
        for future in finished:
            job = running.pop(future)
            ran = future.result()  # re-raises the job's error here
            done.add(job.job_id)
            on_done(job, ran)


def _futures_wait(futures: list[Future[bool]]) -> list[Future[bool]]:
    return list(wait(futures, return_when=FIRST_COMPLETED).done)


class _HereWorker:
    """Runs one job at a time in a thread of this process, returning a standard ``Future``.

    The thread is a daemon so that an interrupted study exits at once, like a
    killed worker process: the job it leaves ``running`` belongs to this
    process's ``host:pid`` and is reclaimed on the next start, and SQLite rolls
    back a transaction the exit cut short.
    """

    def __init__(self) -> None:
        self._busy: Future[bool] | None = None

    def free(self) -> bool:
        """Whether no job of ours is still running."""
        return self._busy is None or self._busy.done()

    def wait(self) -> None:
        """Blocks until our running job (if any) has ended."""
        if self._busy is not None:
            wait([self._busy])

    def submit(self, fn: Callable[..., bool], *args: object) -> Future[bool]:
        """Starts ``fn(*args)`` in a new daemon thread; call only when :meth:`free`."""
        if not self.free():
            raise RuntimeError("_HereWorker: one job at a time in this process; submit when free()")
        future: Future[bool] = Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as err:  # handed to whoever reads the future, as a pool would
                future.set_exception(err)

        threading.Thread(target=run, name="instructmtl-job", daemon=True).start()
        self._busy = future
        return future


class _RayFuture:
    """A Ray object ref with the one method the scheduler needs."""

    def __init__(self, ref: ObjectRef[bool]) -> None:
        self.ref = ref

    def result(self) -> bool:
        import ray

        return ray.get(self.ref)


def _ray_wait(futures: list[_RayFuture]) -> list[_RayFuture]:
    import ray

    ready, _ = ray.wait([f.ref for f in futures], num_returns=1)
    return [f for f in futures if f.ref in ready]
