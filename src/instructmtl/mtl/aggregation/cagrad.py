"""CAGrad (Liu et al. 2021, "Conflict-Averse Gradient Descent for Multi-task Learning").

Maximises the worst group's improvement within a ball of radius ``c * |mean|``
around the mean gradient; ``c = 0`` is the mean. Needs cvxpy (torchjd's
``cagrad`` extra).

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from instructmtl.mtl import _params
from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import CAGrad


def _make(n_groups: int, *, c: float, norm_eps: float) -> CAGrad:
    from torchjd.aggregation import CAGrad  # lazy: see _torchjd.py

    return CAGrad(c=c, norm_eps=norm_eps)


def cagrad(c: float = 0.4, norm_eps: float = 0.0001) -> JacobianAggregator:
    """Builds the ``cagrad`` aggregator (torchjd's ``CAGrad``).

    Args:
        c: radius of the ball around the mean, relative to the mean's norm (>= 0; the
            paper uses 0.4 on NYUv2; larger values favour the worst group more).
        norm_eps: guard against dividing by a zero norm.

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    _params.non_negative("c", c)
    _params.non_negative("norm_eps", norm_eps)
    return JacobianAggregator("cagrad", (("c", c), ("norm_eps", norm_eps)), partial(_make, c=c, norm_eps=norm_eps))
