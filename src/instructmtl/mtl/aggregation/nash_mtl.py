"""Nash-MTL (Navon et al. 2022, "Multi-Task Learning as a Bargaining Game").

Weights the group gradients by the Nash bargaining solution, solved by a
sequence of convex problems (cvxpy + ECOS; torchjd's ``nash_mtl`` extra).

Unlike the paper's code, the solver starts from uniform weights at every step
instead of warm-starting from the previous step's solution: that warm start is
hidden state which a checkpoint could not restore, so a resumed run would
differ from an uninterrupted one. ``optim_niter`` bounds the solver's work.
It needs at least two groups per step (torchjd's solver fails on one).

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from instructmtl.mtl import _params
from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import NashMTL


def _make(n_groups: int, *, max_norm: float, optim_niter: int) -> NashMTL:
    from torchjd.aggregation import NashMTL  # lazy: see _torchjd.py

    return NashMTL(n_tasks=n_groups, max_norm=max_norm, update_weights_every=1, optim_niter=optim_niter)


def nash_mtl(max_norm: float = 1.0, optim_niter: int = 20) -> JacobianAggregator:
    """Builds the ``nash_mtl`` aggregator (torchjd's ``NashMTL``).

    Args:
        max_norm: the update's norm is clipped to this (>= 0; 0 disables clipping).
        optim_niter: most convex sub-problems solved per step (>= 1).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.

    Raises:
        InstructMTLError: naming ``pip install "torchjd[nash_mtl]"`` when cvxpy/ecos are missing.
    """
    _params.non_negative("max_norm", max_norm)
    _params.positive_int("optim_niter", optim_niter)
    return JacobianAggregator(
        "nash_mtl",
        (("max_norm", max_norm), ("optim_niter", optim_niter)),
        partial(_make, max_norm=max_norm, optim_niter=optim_niter),
        min_groups=2,
    )
