"""Elastic weight consolidation (Kirkpatrick et al. 2017, "Overcoming catastrophic forgetting").

Pulls each weight towards the base weight in proportion to how much the
pretraining (language-modelling) loss depends on it::

    penalty = lam / 2 * sum_i F_i (w_i - w0_i)^2

with ``F`` the diagonal empirical Fisher of the LM loss on ``fisher_batches``
corpus batches (:func:`~instructmtl.mtl.regularizers.anchor.estimate_fisher`).
With ``F = 1`` it is L2-SP with ``alpha = lam``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from instructmtl.mtl import _params
from instructmtl.mtl.regularizers.anchor import Anchor, FisherSource, estimate_fisher, snapshot, squared_distance


@dataclass(frozen=True)
class EWC:
    """``lam / 2 * sum_i F_i (w_i - w0_i)^2``.

    Args:
        lam: the strength lambda (>= 0).
        fisher_batches: corpus batches the Fisher is averaged over (>= 1).
    """

    lam: float = 1.0
    fisher_batches: int = 8
    needs_fisher: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _params.non_negative("lam", self.lam)
        _params.positive_int("fisher_batches", self.fisher_batches)

    def make_anchor(self, model: nn.Module, fisher_source: FisherSource | None = None) -> Anchor:
        """Copies w0 and estimates the Fisher from ``fisher_source``.

        Raises:
            ValueError: if ``fisher_source`` is None (the trainer must pass corpus batches).
        """
        if fisher_source is None:
            raise ValueError("EWC needs a FisherSource (corpus batches and the LM loss)")
        fisher = estimate_fisher(model, fisher_source.batches, fisher_source.loss_fn, self.fisher_batches)
        return Anchor(snapshot(model), fisher)

    def penalty(self, model: nn.Module, anchor: Anchor) -> torch.Tensor:
        """The penalty, a float32 scalar differentiable in the model's weights.

        Raises:
            ValueError: if the anchor has no Fisher (it was not made by EWC).
        """
        if anchor.fisher is None:
            raise ValueError("EWC's anchor has no Fisher; make it with EWC.make_anchor")
        return self.lam / 2 * squared_distance(model, anchor, anchor.fisher)
