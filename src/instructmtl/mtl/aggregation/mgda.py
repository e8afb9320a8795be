"""MGDA (Désidéri 2012; Sener & Koltun 2018, "Multi-Task Learning as Multi-Objective Optimization").

The minimum-norm point of the convex hull of the group gradients (found by
Frank-Wolfe): a common descent direction for every group when one exists.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from instructmtl.mtl import _params
from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import MGDA


def _make(n_groups: int, *, epsilon: float, max_iters: int) -> MGDA:
    from torchjd.aggregation import MGDA  # lazy: see _torchjd.py

    return MGDA(epsilon=epsilon, max_iters=max_iters)


def mgda(epsilon: float = 0.001, max_iters: int = 100) -> JacobianAggregator:
    """Builds the ``mgda`` aggregator (torchjd's ``MGDA``).

    Args:
        epsilon: Frank-Wolfe stops when its step falls below this (> 0).
        max_iters: most Frank-Wolfe iterations (>= 1).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    _params.positive("epsilon", epsilon)
    _params.positive_int("max_iters", max_iters)
    return JacobianAggregator(
        "mgda", (("epsilon", epsilon), ("max_iters", max_iters)), partial(_make, epsilon=epsilon, max_iters=max_iters)
    )
