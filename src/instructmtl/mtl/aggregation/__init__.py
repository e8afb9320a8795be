"""Gradient aggregators over task groups: a [G, P] matrix of group gradients → one update [P].

All are thin wrappers of torchjd (one module per method, named after its
paper); each is an immutable :class:`JacobianAggregator` that also exposes
the per-group weights (``weights(J)``, with ``agg(J) == weights(J) @ J``) and
a fresh torchjd object (``torchjd(G)``) for ``torchjd.autojac.jac_to_grad``.
"""

from instructmtl.mtl.aggregation._torchjd import JacobianAggregator
from instructmtl.mtl.aggregation.aligned_mtl import aligned_mtl
from instructmtl.mtl.aggregation.cagrad import cagrad
from instructmtl.mtl.aggregation.dualproj import dualproj
from instructmtl.mtl.aggregation.imtl_g import imtl_g
from instructmtl.mtl.aggregation.mean import mean
from instructmtl.mtl.aggregation.mgda import mgda
from instructmtl.mtl.aggregation.nash_mtl import nash_mtl
from instructmtl.mtl.aggregation.pcgrad import pcgrad
from instructmtl.mtl.aggregation.upgrad import upgrad

__all__ = [
    "JacobianAggregator",
    "aligned_mtl",
    "cagrad",
    "dualproj",
    "imtl_g",
    "mean",
    "mgda",
    "nash_mtl",
    "pcgrad",
    "upgrad",
]
