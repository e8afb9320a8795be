"""L2-SP (Li, Grandvalet & Davoine 2018, "Explicit Inductive Bias for Transfer Learning with CNNs").

Penalises the distance to the starting point rather than to zero::

    penalty = alpha / 2 * ||w - w0||^2

over the trainable parameters. (The paper's second term, plain weight decay on
new layers, has no counterpart here: instruction-tuning adds no layers.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from instructmtl.mtl import _params
from instructmtl.mtl.regularizers.anchor import Anchor, FisherSource, snapshot, squared_distance


@dataclass(frozen=True)
class L2SP:
    """``alpha / 2 * ||w - w0||^2``.

    Args:
        alpha: the strength (>= 0).
    """

    alpha: float = 0.01
    needs_fisher: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _params.non_negative("alpha", self.alpha)

    def make_anchor(self, model: nn.Module, fisher_source: FisherSource | None = None) -> Anchor:
        """Copies the current (base) trainable weights as w0; ``fisher_source`` is not used."""
        return Anchor(snapshot(model))

    def penalty(self, model: nn.Module, anchor: Anchor) -> torch.Tensor:
        """The penalty, a float32 scalar differentiable in the model's weights."""
        return self.alpha / 2 * squared_distance(model, anchor, None)
