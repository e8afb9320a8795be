"""Replay of pretraining text during instruction-tuning (continual pretraining as a mitigation).

Corpus blocks trained with the plain LM loss join each step's instruction
examples, and their loss is added with a ``weight``::

    loss = instruction_loss + weight * replay_loss

Two modes set how many:

* ``add`` (the default): every step keeps its full ``batch_size`` instruction
  examples and replays ``ratio * batch_size`` blocks on top, so every arm of a
  study sees the same instructions whatever its replay (DESIGN, claim 4: replay
  "on top of the same instruction batches"). ``ratio`` may then exceed 1, up to
  :data:`MAX_ADDED_RATIO`.
* ``replace``: replay takes a ``ratio`` share (< 1) of the ``batch_size``
  examples; the arm then sees fewer instructions than one without replay.

When ``ratio * batch_size`` is fractional, the count is spread by error
diffusion written as a pure function of the step (no hidden accumulator)::

    replayed_before(s) = floor(ratio * batch_size * s)
    n_replay(s)        = replayed_before(s + 1) - replayed_before(s)

so after ``S`` steps exactly ``floor(ratio * batch_size * S)`` replay blocks
have been used: when ``ratio * batch_size`` is whole this is that many blocks
every step, otherwise the realised ratio is off by less than one block in
total (rounding each step would make ``ratio=0.1`` at batch 8 replay 1/8), never
drifts, and a resumed run splits its steps exactly like an uninterrupted one.
The ratio is turned into an exact fraction (``Fraction.limit_denominator``)
first, so ``0.1`` means 1/10 and floating-point rounding cannot move a floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Literal

import torch

from instructmtl.mtl import _params

_MAX_DENOMINATOR = 1_000_000
#: Most replay blocks per instruction example in ``add`` mode: beyond this the run is
#: continued pretraining with some instructions, not instruction-tuning with replay.
MAX_ADDED_RATIO = 4.0
ReplayMode = Literal["add", "replace"]


@dataclass(frozen=True)
class ReplayPlan:
    """How many corpus blocks each step replays, and how much their loss counts.

    Args:
        ratio: replay blocks per instruction example (``add``, in [0, 4]) or the
            replayed fraction of each step's examples (``replace``, in [0, 1)).
        weight: multiplier of the replay LM loss (>= 0).
        mode: ``add`` replays on top of a full instruction batch; ``replace``
            takes the replay out of it.
    """

    ratio: float = 0.0
    weight: float = 1.0
    mode: ReplayMode = "add"

    def __post_init__(self) -> None:
        _params.one_of("mode", self.mode, ("add", "replace"))
        if self.mode == "replace":
            _params.unit_interval("ratio (replace mode)", self.ratio, include_high=False)
        else:
            _params.non_negative("ratio", self.ratio)
            if self.ratio > MAX_ADDED_RATIO:
                raise ValueError(
                    f"ratio must be at most {MAX_ADDED_RATIO:g} replay blocks per instruction example "
                    f"in add mode, got {self.ratio!r}"
                )
        _params.non_negative("weight", self.weight)

    @property
    def exact_ratio(self) -> Fraction:
        """``ratio`` as the exact fraction the split uses."""
        return Fraction(self.ratio).limit_denominator(_MAX_DENOMINATOR)

    def replayed_before(self, global_batch_size: int, step: int) -> int:
        """Replay blocks used in steps ``0 .. step-1``: ``floor(ratio * batch * step)``.

        With ``step`` = the run's steps this is the whole replay text of a run (what the
        leakage scan reads, see :func:`instructmtl.corpus.replay_text`).
        """
        return floor(self.exact_ratio * global_batch_size * step)

    def split_batch(self, global_batch_size: int, step: int) -> tuple[int, int]:
        """How many instruction examples and replay blocks step ``step`` trains on.

        Args:
            global_batch_size: the configured batch size (>= 1).
            step: the 0-based optimizer step.

        Returns:
            ``(n_instruction, n_replay)``: in ``add`` mode ``n_instruction`` is always
            ``global_batch_size``; in ``replace`` mode the two sum to it.

        Raises:
            ValueError: if ``global_batch_size`` < 1 or ``step`` < 0.
        """
        if global_batch_size < 1 or step < 0:
            raise ValueError(f"need global_batch_size >= 1 and step >= 0, got {global_batch_size}, {step}")
        n_replay = self.replayed_before(global_batch_size, step + 1) - self.replayed_before(global_batch_size, step)
        if self.mode == "add":
            return global_batch_size, n_replay
        return global_batch_size - n_replay, n_replay

    def combine(self, instruction_loss: torch.Tensor, replay_loss: torch.Tensor | None) -> torch.Tensor:
        """``instruction_loss + weight * replay_loss``; pass ``None`` on a step with no replay block."""
        return instruction_loss if replay_loss is None else instruction_loss + self.weight * replay_loss
