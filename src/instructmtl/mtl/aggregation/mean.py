"""Mean of the group gradients: plain multi-task SGD, the baseline every other aggregator is compared to.

Equivalent to averaging the group losses before one backward pass.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import Mean


def _make(n_groups: int) -> Mean:
    from torchjd.aggregation import Mean  # lazy: see _torchjd.py

    return Mean()


def mean() -> JacobianAggregator:
    """Builds the ``mean`` aggregator (torchjd's ``Mean``).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    return JacobianAggregator("mean", (), _make)
