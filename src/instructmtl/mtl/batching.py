"""Batch composition: which task each example of a step comes from, grouped into micro-batches.

A step of ``batch_size`` examples is cut into micro-batches of at most
``micro_batch_size`` (one forward/backward each; gradients accumulate over
them), the last one possibly smaller. The composer decides how tasks mix
inside a micro-batch:

* ``mixed``: every example's task is drawn independently, so a micro-batch
  mixes tasks (the usual instruction-tuning recipe; lowest gradient variance).
* ``homogeneous``: each micro-batch draws one task and all its examples come
  from it (T5/Tk-Instruct-style per-task batches; it also yields one gradient
  per task, which gradient aggregators over task groups need).

Both draw from the same sampler probabilities, so the expected mixture is the
same; only the within-step correlation differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from instructmtl.mtl.sampling.draw import Generator, draw_tasks


class BatchComposer(Protocol):
    """Assigns a task to each example of a step."""

    def compose(
        self, probabilities: Mapping[str, float], batch_size: int, micro_batch_size: int, rng: Generator
    ) -> list[list[str]]:
        """Returns one list of task names per micro-batch.

        Args:
            probabilities: task → probability, from a task sampler.
            batch_size: examples in the step (>= 0; 0 gives no micro-batch).
            micro_batch_size: most examples per micro-batch (>= 1).
            rng: the generator to draw with (numpy or torch).

        Returns:
            Micro-batches in order; their lengths sum to ``batch_size``.
        """
        ...


def micro_batch_sizes(batch_size: int, micro_batch_size: int) -> list[int]:
    """Cuts ``batch_size`` into full micro-batches plus a smaller remainder.

    Raises:
        ValueError: if ``batch_size`` < 0 or ``micro_batch_size`` < 1.
    """
    if batch_size < 0 or micro_batch_size < 1:
        raise ValueError(f"need batch_size >= 0 and micro_batch_size >= 1, got {batch_size}, {micro_batch_size}")
    full, rest = divmod(batch_size, micro_batch_size)
    return [micro_batch_size] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class Mixed:
    """Each example's task drawn independently; micro-batches mix tasks."""

    def compose(
        self, probabilities: Mapping[str, float], batch_size: int, micro_batch_size: int, rng: Generator
    ) -> list[list[str]]:
        """See :class:`BatchComposer`."""
        sizes = micro_batch_sizes(batch_size, micro_batch_size)
        tasks = draw_tasks(probabilities, batch_size, rng)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [tasks[start : start + size] for start, size in zip(starts, sizes, strict=True)]


@dataclass(frozen=True)
class Homogeneous:
    """One task drawn per micro-batch; all its examples come from that task."""

    def compose(
        self, probabilities: Mapping[str, float], batch_size: int, micro_batch_size: int, rng: Generator
    ) -> list[list[str]]:
        """See :class:`BatchComposer`."""
        sizes = micro_batch_sizes(batch_size, micro_batch_size)
        tasks = draw_tasks(probabilities, len(sizes), rng)
        return [[task] * size for task, size in zip(tasks, sizes, strict=True)]
