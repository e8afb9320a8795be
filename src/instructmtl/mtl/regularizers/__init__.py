"""Regularizers that pull the tuned weights towards the base weights (a forgetting mitigation).

Each is immutable and has ``needs_fisher``, ``make_anchor(model, fisher_source)``
(once, on the base model, before training) and ``penalty(model, anchor)``
(every step; add it to the loss). The :class:`Anchor` is explicit state the
training loop holds; a resumed run makes it again from the base model.
"""

from typing import Protocol

import torch
from torch import nn

from instructmtl.mtl.regularizers.anchor import Anchor, FisherSource, estimate_fisher, snapshot, trainable
from instructmtl.mtl.regularizers.ewc import EWC
from instructmtl.mtl.regularizers.l2sp import L2SP
from instructmtl.mtl.regularizers.none import NoRegularizer


class Regularizer(Protocol):
    """A penalty towards an explicit anchor."""

    @property
    def needs_fisher(self) -> bool:
        """Whether :meth:`make_anchor` needs a :class:`FisherSource`."""
        ...

    def make_anchor(self, model: nn.Module, fisher_source: FisherSource | None = None) -> Anchor:
        """Makes the anchor from the base model (call once, before training)."""
        ...

    def penalty(self, model: nn.Module, anchor: Anchor) -> torch.Tensor:
        """The scalar penalty to add to the training loss."""
        ...


__all__ = [
    "EWC",
    "L2SP",
    "Anchor",
    "FisherSource",
    "NoRegularizer",
    "Regularizer",
    "estimate_fisher",
    "snapshot",
    "trainable",
]
