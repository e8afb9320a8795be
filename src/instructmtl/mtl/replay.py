"""Replay of pretraining text during instruction-tuning (continual pretraining as a mitigation).

A fraction ``ratio`` of each step's examples are corpus sequences trained
with the plain LM loss, added to the instruction loss with a ``weight``::

    loss = instruction_loss + weight * replay_loss

When ``ratio * batch_size`` is fractional, the split is done by error
diffusion written as a pure function of the step (no hidden accumulator)::

    replayed_before(s) = floor(ratio * batch_size * s)
    n_replay(s)        = replayed_before(s + 1) - replayed_before(s)

so after ``S`` steps exactly ``floor(ratio * batch_size * S)`` replay examples
have been used: the realised ratio is off by less than one example in total,
never drifts, and a resumed run splits its steps exactly like an uninterrupted
one. The ratio is turned into an exact fraction (``Fraction.limit_denominator``)
first, so ``0.1`` means 1/10 and floating-point rounding cannot move a floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor

import torch

from instructmtl.mtl import _params

_MAX_DENOMINATOR = 1_000_000


@dataclass(frozen=True)
class ReplayPlan:
    """How many corpus examples each step replays, and how much their loss counts.

    Args:
        ratio: fraction of each step's examples drawn from the corpus, in [0, 1).
        weight: multiplier of the replay LM loss (>= 0).
    """

    ratio: float = 0.0
    weight: float = 1.0

    def __post_init__(self) -> None:
        _params.unit_interval("ratio", self.ratio, include_high=False)
        _params.non_negative("weight", self.weight)

    @property
    def exact_ratio(self) -> Fraction:
        """``ratio`` as the exact fraction the split uses."""
        return Fraction(self.ratio).limit_denominator(_MAX_DENOMINATOR)

    def replayed_before(self, global_batch_size: int, step: int) -> int:
        """Replay examples used in steps ``0 .. step-1``: ``floor(ratio * batch * step)``."""
        return floor(self.exact_ratio * global_batch_size * step)

    def split_batch(self, global_batch_size: int, step: int) -> tuple[int, int]:
        """Splits step ``step``'s examples into instruction and replay examples.

        Args:
            global_batch_size: examples per optimizer step (>= 1).
            step: the 0-based optimizer step.

        Returns:
            ``(n_instruction, n_replay)``, summing to ``global_batch_size``.

        Raises:
            ValueError: if ``global_batch_size`` < 1 or ``step`` < 0.
        """
        if global_batch_size < 1 or step < 0:
            raise ValueError(f"need global_batch_size >= 1 and step >= 0, got {global_batch_size}, {step}")
        n_replay = self.replayed_before(global_batch_size, step + 1) - self.replayed_before(global_batch_size, step)
        return global_batch_size - n_replay, n_replay

    def combine(self, instruction_loss: torch.Tensor, replay_loss: torch.Tensor | None) -> torch.Tensor:
        """``instruction_loss + weight * replay_loss``; pass ``None`` on a step with no replay example."""
        return instruction_loss if replay_loss is None else instruction_loss + self.weight * replay_loss
