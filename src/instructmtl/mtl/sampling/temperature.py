"""Temperature-scaled mixing (Raffel et al. 2020, T5, §3.5.2; Arivazhagan et al. 2019).

Rates are the capped sizes raised to ``1/T``: ``T = 1`` is examples-proportional,
``T → ∞`` tends to uniform, ``T < 1`` sharpens towards the big tasks.
The exponent ``beta = 1/T`` is what the annealed schedules move, because it
reaches both end points exactly (``beta = 0`` gives rate 1 for every task).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from instructmtl.mtl import _params
from instructmtl.mtl.sampling._common import capped, check_inputs, normalise


def tempered(sizes: Mapping[str, int], cap: int | None, beta: float) -> dict[str, float]:
    """``p(t) ∝ min(n_t, K) ** beta``.

    Args:
        sizes: training examples per task (checked by the caller).
        cap: K, or ``None`` for no cap.
        beta: the inverse temperature ``1/T`` (>= 0).

    Returns:
        Normalised probabilities, one per task, in the order of ``sizes``.
    """
    # math.pow keeps beta == 1 bit-identical to proportional and beta == 0 to uniform.
    return normalise({name: math.pow(capped(n, cap), beta) for name, n in sizes.items()})


@dataclass(frozen=True)
class Temperature:
    """``p(t) ∝ min(n_t, K) ** (1/T)``, constant over training.

    Args:
        temperature: T > 0 (T5 and mT5 use 2 to 5 for multilingual/multi-task mixing).
        cap: K, or ``None`` for no cap.
    """

    temperature: float = 2.0
    cap: int | None = None

    def __post_init__(self) -> None:
        _params.positive("temperature", self.temperature)
        _params.positive_int("cap", self.cap, allow_none=True)

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`; ``progress`` is ignored."""
        check_inputs(sizes, progress)
        return tempered(sizes, self.cap, 1.0 / self.temperature)
