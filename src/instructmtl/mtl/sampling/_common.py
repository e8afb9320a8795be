"""What every task sampler shares: its interface and the input checks.

Probabilities are normalised with :func:`math.fsum`, which rounds the exact
sum once, so the result does not depend on the order the tasks are listed in
(a plain ``sum`` would, in the last bits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from instructmtl.errors import InstructMTLError


class TaskSampler(Protocol):
    """Turns task sizes into sampling probabilities; may move with training progress."""

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """Returns the probability of drawing each task.

        Args:
            sizes: number of training examples of each task (all > 0).
            progress: fraction of training done, in [0, 1].

        Returns:
            One probability per task of ``sizes``, in the same order, summing to 1.
        """
        ...


def check_inputs(sizes: Mapping[str, int], progress: float) -> None:
    """Checks what every sampler receives.

    Raises:
        InstructMTLError: if there is no task or a task has no training example (an
            empty task cannot be drawn from; the split or the data is at fault).
        ValueError: if ``progress`` is outside [0, 1] (a trainer bug, not user input).
    """
    if not sizes:
        raise InstructMTLError("task sampler got no training tasks; check the split's train tasks")
    empty = sorted(name for name, n in sizes.items() if n <= 0)
    if empty:
        raise InstructMTLError(
            f"training task(s) {', '.join(empty[:5])} have no training examples; "
            "remove them from the split or give them instances"
        )
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")


def capped(n: int, cap: int | None) -> float:
    """The example count a rate is computed from: ``min(n, cap)`` (T5's K)."""
    return float(n if cap is None else min(n, cap))


def normalise(rates: Mapping[str, float]) -> dict[str, float]:
    """Divides rates by their (order-independent) sum."""
    total = math.fsum(rates.values())
    return {name: rate / total for name, rate in rates.items()}
