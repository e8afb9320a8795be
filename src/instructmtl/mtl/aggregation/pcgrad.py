"""PCGrad (Yu et al. 2020, "Gradient Surgery for Multi-Task Learning").

Projects each group gradient onto the normal plane of the others it conflicts
with, then *sums* the results (as the paper does): with G non-conflicting groups
the update is G times the mean, so compare learning rates accordingly. The
order in which the others are visited is random, so calls need the run's
generator (``rng``).

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import PCGrad


def _make(n_groups: int) -> PCGrad:
    from torchjd.aggregation import PCGrad  # lazy: see _torchjd.py

    return PCGrad()


def pcgrad() -> JacobianAggregator:
    """Builds the ``pcgrad`` aggregator (torchjd's ``PCGrad``).

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    return JacobianAggregator("pcgrad", (), _make, random=True)
