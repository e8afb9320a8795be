"""Uniform task sampling: every task equally often, whatever its size.

The arm that fits the seen tasks best in the authors' study (and the end
point of the annealed schedules, temperature → ∞).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from instructmtl.mtl.sampling._common import check_inputs, normalise


@dataclass(frozen=True)
class Uniform:
    """``p(t) = 1 / number of tasks``, constant over training."""

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`; ``progress`` is ignored."""
        check_inputs(sizes, progress)
        return normalise(dict.fromkeys(sizes, 1.0))
