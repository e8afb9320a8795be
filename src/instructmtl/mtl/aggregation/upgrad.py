"""UPGrad (Quinton & Rey 2024, "Jacobian Descent for Multi-Objective Optimization").

Projects each group gradient onto the dual cone of all of them and averages the
projections, so the update never increases any group's loss to first order,
and equals the mean when nothing conflicts. Needs torchjd's quadprog extra.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import UPGrad


def _make(n_groups: int) -> UPGrad:
    from torchjd.aggregation import UPGrad  # lazy: see _torchjd.py

    return UPGrad()


def upgrad() -> JacobianAggregator:
    """Builds the ``upgrad`` aggregator (torchjd's ``UPGrad``).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    return JacobianAggregator("upgrad", (), _make)
