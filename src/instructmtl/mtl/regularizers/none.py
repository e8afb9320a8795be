"""No regularizer: the control arm (penalty 0, nothing anchored, no memory spent on w0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from instructmtl.mtl.regularizers.anchor import Anchor, FisherSource


@dataclass(frozen=True)
class NoRegularizer:
    """Penalty 0."""

    needs_fisher: ClassVar[bool] = False

    def make_anchor(self, model: nn.Module, fisher_source: FisherSource | None = None) -> Anchor:
        """An empty anchor."""
        return Anchor({})

    def penalty(self, model: nn.Module, anchor: Anchor) -> torch.Tensor:
        """A zero scalar on the model's device."""
        return torch.zeros((), device=next(model.parameters()).device)
