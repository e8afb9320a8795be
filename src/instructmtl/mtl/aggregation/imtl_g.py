"""IMTL-G (Liu et al. 2021, "Towards Impartial Multi-task Learning").

Weights chosen so the update has equal projections onto every group's unit
gradient: no group dominates by gradient direction.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import IMTLG


def _make(n_groups: int) -> IMTLG:
    from torchjd.aggregation import IMTLG  # lazy: see _torchjd.py

    return IMTLG()


def imtl_g() -> JacobianAggregator:
    """Builds the ``imtl_g`` aggregator (torchjd's ``IMTLG``).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    return JacobianAggregator("imtl_g", (), _make)
