"""One optimizer step's inputs for the transfer grid: every member's rows, the shared prompt prefix apart.

All training prompts of a task start with the same tokens (the task
identifier or demonstrations, then the query's ``Now complete the following
example -`` line): with the ``id`` encoding and a small vocabulary that is
about two thirds of every row. A member's rows therefore share their first
``P`` tokens, and the grid runs them once per member and step: a forward over
the prefix fills a KV cache, which every row then continues from (the cache
is expanded over the rows, so backward sums the rows' gradients into the
prefix). This is exact, not an approximation: causal attention makes the
prefix's keys and values independent of what follows, and each row's tokens
keep their positions and see exactly the tokens they would see alone.

Shapes must agree across members for ``vmap``, so prefixes are left-padded to
the chunk's longest and rows' suffixes to the longest suffix; masks hide every
pad, and each position may always see itself so that a fully padded query row
never divides by zero in softmax (its outputs are never read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from instructmtl.evaluation._prefix_cache import shared_length
from instructmtl.training.batches import collate
from instructmtl.training.examples import IGNORE_INDEX, TrainExample

__all__ = ["StepInputs", "shared_prefix_length", "step_inputs"]


@dataclass(frozen=True)
class StepInputs:
    """A step's tensors, member-major (leading dimension M), for the vmapped loss.

    Attributes:
        prefix_ids, prefix_positions: ``[M, 1, P]``, the shared prefix, left-padded.
        prefix_mask: ``[M, 1, 1, P, P]`` additive mask of the prefix pass.
        input_ids, positions: ``[M, R, S]``, each row's tokens after the prefix, left-padded.
        mask: ``[M, R, 1, S, P + S]`` additive mask of the row pass (prefix keys, then its own).
        labels: ``[M, R, K - 1]`` targets of the last ``K`` positions (``IGNORE_INDEX`` elsewhere
            and on the zero-weight rows that pad a member to R rows).
    """

    prefix_ids: torch.Tensor
    prefix_positions: torch.Tensor
    prefix_mask: torch.Tensor
    input_ids: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors in the order the vmapped loss takes them."""
        return (self.prefix_ids, self.prefix_positions, self.prefix_mask, self.input_ids, self.positions,
                self.mask, self.labels)


def shared_prefix_length(examples: Sequence[TrainExample]) -> int:
    """How many leading tokens all ``examples`` share, keeping at least one context token per row apart.

    The row pass must hold the token whose logits predict the first target
    token, so the prefix stops before each example's last context token.
    """
    contexts = [ex.input_ids[: ex.target_start] for ex in examples]
    return shared_length(contexts[0], contexts)


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    zero = torch.zeros((), dtype=dtype, device=allowed.device)
    return torch.where(allowed, zero, torch.finfo(dtype).min)


def _self_attention(real: torch.Tensor) -> torch.Tensor:
    """``[B, L, L]`` allowed: causal over real keys, plus every position on itself."""
    length = real.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=real.device).tril()
    return (causal & real[:, None, :]) | torch.eye(length, dtype=torch.bool, device=real.device)


def step_inputs(
    member_rows: Sequence[Sequence[TrainExample]], prefix_lengths: Sequence[int], pad_id: int, dtype: torch.dtype
) -> StepInputs:
    """Builds one step's inputs from each member's rows and its shared prefix length.

    Args:
        member_rows: per member, the step's examples (at least one each).
        prefix_lengths: per member, how many leading tokens its rows share
            (at most :func:`shared_prefix_length` of them; 0 runs no prefix pass for it).
        pad_id: the pad token id.
        dtype: the masks' dtype (the model's).
    """
    members, width = len(member_rows), max(len(rows) for rows in member_rows)
    suffixes, dummy, offsets = [], [], []
    for rows, p in zip(member_rows, prefix_lengths, strict=True):
        padded = list(rows) + [rows[0]] * (width - len(rows))
        suffixes.extend(TrainExample(ex.task, ex.group, ex.input_ids[p:], ex.target_start - p) for ex in padded)
        dummy.extend([False] * len(rows) + [True] * (width - len(rows)))
        offsets.extend([p] * width)
    batch = collate(suffixes, pad_id)
    labels = batch.labels.masked_fill(torch.tensor(dummy)[:, None], IGNORE_INDEX)
    longest = max(prefix_lengths)
    prefix_ids = torch.full((members, longest), pad_id, dtype=torch.long)
    prefix_real = torch.zeros((members, longest), dtype=torch.bool)
    for m, (rows, p) in enumerate(zip(member_rows, prefix_lengths, strict=True)):
        prefix_ids[m, longest - p :] = torch.tensor(rows[0].input_ids[:p], dtype=torch.long)
        prefix_real[m, longest - p :] = True
    prefix_positions = (prefix_real.long().cumsum(-1) - 1).clamp(min=0)
    row_prefix = prefix_real.repeat_interleave(width, dim=0)[:, None, :].expand(-1, batch.input_ids.shape[-1], -1)
    allowed = torch.cat([row_prefix, _self_attention(batch.attention_mask.bool())], dim=-1)
    per_member = lambda t: t.view(members, width, *t.shape[1:])  # noqa: E731
    return StepInputs(
        prefix_ids=prefix_ids[:, None],
        prefix_positions=prefix_positions[:, None],
        prefix_mask=_additive(_self_attention(prefix_real), dtype)[:, None, None],
        input_ids=per_member(batch.input_ids),
        positions=per_member(batch.position_ids + torch.tensor(offsets)[:, None]),
        mask=per_member(_additive(allowed, dtype)[:, None]),
        labels=per_member(labels),
    )
