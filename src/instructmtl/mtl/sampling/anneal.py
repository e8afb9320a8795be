"""Annealed temperature schedules between proportional (T = 1) and uniform (T → ∞).

The schedule moves the inverse temperature ``beta = 1/T`` rather than ``T``,
so both end points are exact (``beta = 1`` is proportional, ``beta = 0`` is
uniform; ``T`` itself would have to reach infinity). With ``p`` the fraction
of training done, ``h`` the horizon and ``x = min(p / h, 1)``::

    s(x)    = x                       (shape "linear")
            = (1 - cos(pi * x)) / 2   (shape "cosine": slow start and end)
    beta(p) = beta_start + (beta_end - beta_start) * s(x)
    rate(t) = min(n_t, K) ** beta(p)

``anneal`` goes proportional → uniform (beta 1 → 0), ``reverse_anneal``
uniform → proportional (beta 0 → 1); after the horizon the end point holds.
These are the two directions the authors' arms compare: start where fit is
easiest and end where generalization is best, or the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from instructmtl.mtl import _params
from instructmtl.mtl.sampling._common import check_inputs
from instructmtl.mtl.sampling.temperature import tempered

SHAPES = ("linear", "cosine")


def inverse_temperature(progress: float, *, start: float, end: float, horizon: float, shape: str) -> float:
    """``beta(p)`` of the module docstring.

    Args:
        progress: fraction of training done, in [0, 1].
        start: beta at progress 0.
        end: beta from progress ``horizon`` on.
        horizon: fraction of training over which beta moves, in (0, 1].
        shape: ``"linear"`` or ``"cosine"``.

    Returns:
        The inverse temperature at ``progress``; exactly ``start`` at 0 and ``end`` at ``horizon``.
    """
    x = min(progress / horizon, 1.0)
    s = x if shape == "linear" else (1.0 - math.cos(math.pi * x)) / 2.0
    return start + (end - start) * s


def _check(cap: int | None, horizon: float, shape: str) -> None:
    _params.positive_int("cap", cap, allow_none=True)
    _params.unit_interval("horizon", horizon, include_low=False)
    _params.one_of("shape", shape, SHAPES)


@dataclass(frozen=True)
class Anneal:
    """Proportional at the start, uniform from ``horizon`` on.

    Args:
        cap: K, the size cap of the proportional end, or ``None``.
        horizon: fraction of training over which the temperature moves, in (0, 1].
        shape: ``"linear"`` or ``"cosine"`` interpolation of ``1/T``.
    """

    cap: int | None = None
    horizon: float = 1.0
    shape: str = "linear"

    def __post_init__(self) -> None:
        _check(self.cap, self.horizon, self.shape)

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`."""
        check_inputs(sizes, progress)
        beta = inverse_temperature(progress, start=1.0, end=0.0, horizon=self.horizon, shape=self.shape)
        return tempered(sizes, self.cap, beta)


@dataclass(frozen=True)
class ReverseAnneal:
    """Uniform at the start, proportional from ``horizon`` on.

    Args:
        cap: K, the size cap of the proportional end, or ``None``.
        horizon: fraction of training over which the temperature moves, in (0, 1].
        shape: ``"linear"`` or ``"cosine"`` interpolation of ``1/T``.
    """

    cap: int | None = None
    horizon: float = 1.0
    shape: str = "linear"

    def __post_init__(self) -> None:
        _check(self.cap, self.horizon, self.shape)

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`."""
        check_inputs(sizes, progress)
        beta = inverse_temperature(progress, start=0.0, end=1.0, horizon=self.horizon, shape=self.shape)
        return tempered(sizes, self.cap, beta)
