"""DualProj (Quinton & Rey 2024): the mean gradient projected onto the dual cone of the group gradients.

The closest update to the mean that does not increase any group's loss to
first order. Needs torchjd's quadprog extra.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import DualProj


def _make(n_groups: int) -> DualProj:
    from torchjd.aggregation import DualProj  # lazy: see _torchjd.py

    return DualProj()


def dualproj() -> JacobianAggregator:
    """Builds the ``dualproj`` aggregator (torchjd's ``DualProj``).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    return JacobianAggregator("dualproj", (), _make)
