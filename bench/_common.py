"""Helpers shared by the bench scripts: repeated timing with medians, the machine's matmul peak, JSON-line output.

Why medians: the development machine's few cores are shared with other jobs,
so a single timing can be off by a factor; the median of a few repeats is
stable where the mean is not. Benches that compare two implementations run
them interleaved in one process (A, B, A, B, ...) so that a change of load
hits both sides alike, and report the load average next to the figures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed repeat (warm-up repeats excluded) and their median."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median of the repeats."""
        return statistics.median(self.seconds)


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
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return Timing(tuple(seconds))


def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """Measured GFLOP/s of a large square matmul in ``dtype`` on all of torch's threads.

    This is the ceiling that MFU is measured against: what this machine's
    BLAS (oneDNN for bf16) reaches on an ideal shape, under the current load.

    Args:
        dtype: ``torch.float32`` or ``torch.bfloat16``.
        size: the side of the square matrices (large enough to be compute-bound).
        repeats: timed matmuls; the median counts.

    Returns:
        ``2 * size**3 / median_seconds / 1e9``.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    with torch.no_grad():
        timing = time_repeats(lambda: torch.mm(a, b), repeats, warmup=2)
    return 2 * size**3 / timing.median / 1e9


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
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@contextmanager
def optimizer_step_times() -> Iterator[list[float]]:
    """Records ``time.perf_counter()`` at the end of every ``torch.optim`` optimizer step in the block.

    The differences between consecutive stamps are the wall time of whole
    training iterations (data, forward, backward, clipping, step, logging),
    measured the same way for any loop that uses a ``torch.optim`` optimizer,
    without touching the loop's code. The first step (before the first stamp)
    is thereby the warm-up that is left out.
    """
    stamps: list[float] = []
    handle = register_optimizer_step_post_hook(
        lambda _optimizer, _args, _kwargs: stamps.append(time.perf_counter())
    )
    try:
        yield stamps
    finally:
        handle.remove()


def emit(record: Mapping[str, Any]) -> None:
    """Prints ``record`` as one JSON line on stdout (the machine-readable result of a bench)."""
    sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """Progress for the human, on stderr, so stdout stays the JSON result."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
