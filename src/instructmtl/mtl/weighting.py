"""Loss weighting across task groups: per-group losses → one scalar to back-propagate.

A weighting combines *losses* (one backward pass); an aggregator combines
*gradients* (one backward pass per group). Weightings with learnable
parameters keep them in an explicit :class:`WeightingState` that the training
loop creates once (``init_state``), hands to its optimizer, passes to every
``combine`` call and saves with each checkpoint; the strategy object itself
holds only hyperparameters.

Registered methods:

* ``equal``: the mean of the group losses.
* ``uncertainty``: homoscedastic-uncertainty weighting (Kendall, Gal & Cipolla
  2018, "Multi-Task Learning Using Uncertainty to Weigh Losses"), with one
  learnable log-variance ``s_g = log sigma_g^2`` per group. A language-model
  loss is a cross-entropy, so the paper's classification form is used,
  averaged over the groups present in the step::

      L = mean_g( exp(-s_g) * L_g + s_g / 2 )

  At ``s_g = 0`` this is ``equal`` (plus 0), so both arms start identical. Its
  minimum over ``s_g`` is at ``exp(s_g) = 2 L_g``: groups with a high loss are
  down-weighted.

Only the groups present in a step need a loss (with one task per micro-batch,
a step rarely sees every group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from instructmtl.mtl import _params


@dataclass(frozen=True)
class WeightingState:
    """The learnable part of a weighting, owned by the training loop.

    Args:
        names: the task groups, in a fixed order.
        params: one learnable value per group (``[G]``), or an empty tensor when the
            weighting learns nothing.
    """

    names: tuple[str, ...]
    params: torch.Tensor

    def parameters(self) -> list[torch.Tensor]:
        """The tensors to hand to the optimizer (empty when nothing is learned)."""
        return [self.params] if self.params.numel() else []

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Group name → value, ready for safetensors."""
        if not self.params.numel():
            return {}
        return {name: self.params[i].detach().clone() for i, name in enumerate(self.names)}

    def load_state_dict(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Restores values saved by :meth:`state_dict`, in place (the optimizer keeps its reference).

        Raises:
            ValueError: if the saved groups differ from this state's groups.
        """
        if set(tensors) != set(self.state_dict()):
            raise ValueError(
                f"weighting state has groups {sorted(self.state_dict())}, checkpoint has {sorted(tensors)}"
            )
        if not self.params.numel():
            return
        with torch.no_grad():
            for i, name in enumerate(self.names):
                self.params[i] = tensors[name].to(self.params)


class LossWeighting(Protocol):
    """Combines per-group losses into one scalar."""

    def init_state(self, group_names: Sequence[str], device: torch.device | str = "cpu") -> WeightingState:
        """Creates the explicit state for these groups (once, before training)."""
        ...

    def combine(self, losses: Mapping[str, torch.Tensor], state: WeightingState) -> torch.Tensor:
        """Returns the scalar to back-propagate from the losses of the groups present this step."""
        ...


def _check_losses(losses: Mapping[str, torch.Tensor], state: WeightingState) -> None:
    unknown = sorted(set(losses) - set(state.names))
    if not losses or unknown:
        raise ValueError(f"losses must be a non-empty subset of groups {list(state.names)}; unknown: {unknown}")


@dataclass(frozen=True)
class Equal:
    """The mean of the group losses present in the step."""

    def init_state(self, group_names: Sequence[str], device: torch.device | str = "cpu") -> WeightingState:
        """See :class:`LossWeighting`; nothing is learned."""
        return WeightingState(tuple(group_names), torch.zeros(0, device=device))

    def combine(self, losses: Mapping[str, torch.Tensor], state: WeightingState) -> torch.Tensor:
        """See :class:`LossWeighting`."""
        _check_losses(losses, state)
        return torch.stack([losses[name] for name in sorted(losses)]).mean()


@dataclass(frozen=True)
class Uncertainty:
    """Kendall et al. (2018) uncertainty weighting; see the module docstring.

    Args:
        init_log_variance: the starting ``s_g`` for every group (0 starts as ``equal``).
    """

    init_log_variance: float = 0.0

    def __post_init__(self) -> None:
        _params.finite("init_log_variance", self.init_log_variance)

    def init_state(self, group_names: Sequence[str], device: torch.device | str = "cpu") -> WeightingState:
        """See :class:`LossWeighting`; one learnable log-variance per group (float32)."""
        if not group_names or len(set(group_names)) != len(group_names):
            raise ValueError(f"need distinct group names, got {list(group_names)}")
        start = torch.full((len(group_names),), float(self.init_log_variance), device=device)
        return WeightingState(tuple(group_names), start.requires_grad_(True))

    def combine(self, losses: Mapping[str, torch.Tensor], state: WeightingState) -> torch.Tensor:
        """See :class:`LossWeighting`."""
        _check_losses(losses, state)
        index = {name: i for i, name in enumerate(state.names)}
        names = sorted(losses)
        s = state.params[[index[name] for name in names]]
        group_losses = torch.stack([losses[name] for name in names]).to(s.dtype)
        return (torch.exp(-s) * group_losses + s / 2).mean()
