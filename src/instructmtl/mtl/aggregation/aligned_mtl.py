"""Aligned-MTL (Senushkin et al. 2023, "Independent Component Alignment for Multi-Task Learning").

Rescales the principal components of the group gradients so that none
dominates (the aligned matrix has condition number 1) before combining them.

Input: group gradients [G, P]; output: one update [P].
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from instructmtl.mtl import _params
from instructmtl.mtl.aggregation._torchjd import JacobianAggregator

if TYPE_CHECKING:
    from torchjd.aggregation import AlignedMTL

SCALE_MODES = ("min", "median", "rmse")


def _make(n_groups: int, *, scale_mode: str) -> AlignedMTL:
    from torchjd.aggregation import AlignedMTL  # lazy: see _torchjd.py

    return AlignedMTL(scale_mode=scale_mode)  # type: ignore[arg-type]  # a Literal there; SCALE_MODES checks it


def aligned_mtl(scale_mode: str = "min") -> JacobianAggregator:
    """Builds the ``aligned_mtl`` aggregator (torchjd's ``AlignedMTL``).

    Args:
        scale_mode: which singular value the components are rescaled to: ``"min"``
            (the paper's choice), ``"median"`` or ``"rmse"``.

    Returns:
        An immutable aggregator; call it on a [G, P] matrix.
    """
    _params.one_of("scale_mode", scale_mode, SCALE_MODES)
    return JacobianAggregator("aligned_mtl", (("scale_mode", scale_mode),), partial(_make, scale_mode=scale_mode))
