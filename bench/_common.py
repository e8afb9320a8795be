"""Helpers shared by the bench scripts: repeated timing with medians, the machine's matmul peak, JSON-line output.

Every bench ends with :func:`emit`, which prints its figures as one JSON line and
records them in ``bench/results/<bench>.json``; ``bench/readme_table.py`` builds
the figures table of bench/README.md from those files, so the README never holds
a figure that no bench wrote.

Why medians: the development machine's few cores are shared with other jobs,
so a single timing can be off by a factor; the median of a few repeats is
stable where the mean is not. Benches that compare two implementations run
them interleaved in one process (A, B, A, B, ...) so that a change of load
hits both sides alike, and report the load average next to the figures.
Times are taken on two clocks, wall and process CPU time (see :class:`Timing`).
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where :func:`emit` records each bench's latest figures, one ``<bench>.json`` per bench (kept in git)."""


@dataclass(frozen=True)
class Stamp:
    """A moment on two clocks: wall time and this process's CPU time (all its threads)."""

    wall: float
    cpu: float

    @staticmethod
    def now() -> Stamp:
        """The current moment."""
        return Stamp(time.perf_counter(), time.process_time())

    def until(self, later: Stamp) -> Stamp:
        """The seconds from this moment to ``later``, on both clocks."""
        return Stamp(later.wall - self.wall, later.cpu - self.cpu)

    def __sub__(self, earlier: Stamp) -> float:
        """Wall seconds since ``earlier``: ``later - earlier`` reads as plain elapsed time."""
        return self.wall - earlier.wall


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed repeat (warm-up repeats excluded), on the wall and the CPU clock.

    Why both clocks: on a machine shared with other jobs the wall time of a
    single-threaded job grows with the load, while its CPU time barely moves;
    comparing CPU times keeps a comparison fair when the load changes between
    its two sides. The wall time is what a user waits for.
    """

    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median wall seconds."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        """The median CPU seconds."""
        return statistics.median(self.cpu)


def time_repeats(fn: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """Times ``fn()`` ``repeats`` times after ``warmup`` untimed calls.

    Args:
        fn: the work to time (it must finish its work before returning; CPU torch ops do).
        repeats: timed calls (>= 1).
        warmup: untimed calls first (allocator, kernel selection, caches).

    Returns:
        The timings.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    spans = []
    for _ in range(repeats):
        started = Stamp.now()
        fn()
        spans.append(started.until(Stamp.now()))
    return Timing(tuple(s.wall for s in spans), tuple(s.cpu for s in spans))


@dataclass(frozen=True)
class Peak:
    """Matmul GFLOP/s per wall second and per CPU second (the MFU denominators)."""

    wall_gflops: float
    cpu_gflops: float


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> Peak:
    """Measured GFLOP/s of a large square matmul in ``dtype`` at torch's current thread count.

    This is the ceiling that MFU is measured against: what this machine's
    BLAS (oneDNN for bf16) reaches on an ideal shape, under the current load
    and at the current thread count.

    Args:
        dtype: ``torch.float32`` or ``torch.bfloat16``.
        size: the side of the square matrices (large enough to be compute-bound).
        repeats: timed matmuls; the medians count.

    Returns:
        ``2 * size**3 / 1e9`` over the median wall and the median CPU seconds.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    with torch.no_grad():
        timing = time_repeats(lambda: torch.mm(a, b), repeats, warmup=2)
    work = 2 * size**3 / 1e9
    return Peak(work / timing.median, work / timing.cpu_median)


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (how busy the shared machine was)."""
    return os.getloadavg()


def machine() -> dict[str, Any]:
    """The facts about this machine that a reader needs to compare figures."""
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processor": _cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average": [round(x, 2) for x in load_average()],
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")  # Linux; elsewhere platform's (often empty) answer
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@contextmanager
def optimizer_step_times() -> Iterator[list[Stamp]]:
    """Records a :class:`Stamp` at the end of every ``torch.optim`` optimizer step in the block.

    The differences between consecutive stamps (``b - a`` in wall seconds,
    ``a.until(b)`` on both clocks) are the time of whole training iterations
    (data, forward, backward, clipping, step, logging),
    measured the same way for any loop that uses a ``torch.optim`` optimizer,
    without touching the loop's code. The first step (before the first stamp)
    is thereby the warm-up that is left out.
    """
    stamps: list[Stamp] = []
    handle = register_optimizer_step_post_hook(lambda _optimizer, _args, _kwargs: stamps.append(Stamp.now()))
    try:
        yield stamps
    finally:
        handle.remove()


def emit(record: Mapping[str, Any]) -> None:
    """Prints ``record`` as one JSON line on stdout and records it in ``bench/results/<bench>.json``.

    Both the line and the file gain a ``"run"`` key (see :func:`run_facts`), so
    that a figure in the README can be traced to the date, commit and command
    that produced it. The file is replaced atomically: a bench killed mid-write
    leaves the previous record, never half of one. NaN and infinities become
    ``null``, as strict JSON has no token for them.

    Args:
        record: the bench's figures; ``record["bench"]`` names the file.

    Raises:
        ValueError: if ``record`` has no ``"bench"`` name or already has a ``"run"`` key.
    """
    if "bench" not in record or "run" in record:
        raise ValueError(f'a bench record needs a "bench" name and no "run" key, got keys {sorted(record)}')
    stamped = _strict({**record, "run": run_facts()})
    sys.stdout.write(json.dumps(stamped, sort_keys=True, allow_nan=False) + "\n")
    sys.stdout.flush()
    write_record(RESULTS_DIR / f"{record['bench']}.json", stamped)


def run_facts() -> dict[str, Any]:
    """When, at which commit, with which command and under what load this process ran."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "argv": list(sys.argv),
        "load_average": [round(x, 2) for x in load_average()],
    }


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """Writes ``record`` as indented JSON to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    os.replace(handle.name, path)


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    return value


def _git_commit() -> str:
    # a bench run without git, or from a tree that is not a checkout, still records its figures
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def log(message: str) -> None:
    """Progress for the human, on stderr, so stdout stays the JSON result."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
