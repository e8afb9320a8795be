"""Examples-proportional mixing with an artificial size cap (Raffel et al. 2020, T5, §3.5.2).

A task is drawn with rate ``min(n, K)``: big tasks cannot swamp the mixture
beyond ``K`` examples' worth, small tasks keep their natural share. FLAN
(Wei et al. 2021) mixes its tasks the same way with ``K = 3,000``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from instructmtl.mtl import _params
from instructmtl.mtl.sampling._common import capped, check_inputs, normalise


@dataclass(frozen=True)
class Proportional:
    """``p(t) = min(n_t, K) / sum_s min(n_s, K)``, constant over training.

    Args:
        cap: K, the size cap; ``None`` means no cap (pure examples-proportional).
    """

    cap: int | None = None

    def __post_init__(self) -> None:
        _params.positive_int("cap", self.cap, allow_none=True)

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`; ``progress`` is ignored."""
        check_inputs(sizes, progress)
        return normalise({name: capped(n, self.cap) for name, n in sizes.items()})
