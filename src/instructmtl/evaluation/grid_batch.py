"""One optimizer step's inputs for the transfer grid: each member's rows packed into one sequence.

All training prompts of a task start with the same tokens (the task
identifier or demonstrations, then the query's ``Now complete the following
example -`` line): with the ``id`` encoding and a small vocabulary that is
a third to two thirds of every row. A member's step is therefore one packed
sequence: the shared prefix once, then each row's remaining tokens one after
the other, with no padding between rows. A row's last token is left out: it
is only a label, and nothing reads the outputs at its position. Each row's
tokens keep the positions they have in the row, and attention is computed
per segment (the prefix, cut into pieces, then each row,
:mod:`.grid_attention`): a row attends to the prefix and to its own earlier
tokens, exactly what it sees run alone (causal attention makes the prefix's
keys and values independent of what follows; backward sums the rows'
gradients into the prefix). Against one left-padded row per instance this
drops the padding to the step's longest row (a quarter of the grid's tokens
on the built-in suite, whose rows vary in length) as well as the repeated
prefix.

A segment's keys are the prefix block (the first ``P`` packed positions,
``P`` the chunk's longest prefix) and then the segment's own tokens; its mask
row is ``P + Q`` wide. Taking the prefix as one slice, not gathered once per
segment, keeps its gradient a plain sum.

Shapes must agree across members for ``vmap``: packed sequences are
right-padded to the chunk's longest (a pad belongs to no segment, so nothing
attends to it, and its output is never read), and segments to the chunk's
most segments and longest row tail (a padding query slot sees one key, so
softmax stays finite; its output is never gathered). Logits are computed only
at the positions that predict a target token (``targets``), gathered per member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from instructmtl.evaluation._prefix_cache import shared_length
from instructmtl.tokenized.examples import IGNORE_INDEX, TrainExample

__all__ = ["StepInputs", "packed_length", "shared_prefix_length", "step_inputs"]


@dataclass(frozen=True)
class StepInputs:
    """A step's tensors, member-major (leading dimension M), for the vmapped loss.

    Attributes:
        input_ids, positions: ``[M, 1, T]``, the prefix then every row's tokens after it, right-padded.
        mask: ``[M, 1, G, Q, P + Q]`` additive mask of each segment's queries over its keys
            (:mod:`.grid_attention`): the prefix block, then the segment's own tokens. The
            segments are first the prefix, cut into pieces of at most Q queries, then one per
            row; Q is the longest row tail, P the longest prefix.
        segment_query: ``[M, G, Q]`` packed positions of each segment's queries (and own keys).
        token_slot: ``[M, T]`` each packed position's place among the flattened ``G * Q`` queries.
        targets: ``[M, 1, N]`` packed positions whose logits predict a target token (0 where unused).
        labels: ``[M, 1, N]`` the token each of them predicts (``IGNORE_INDEX`` where unused).
    """

    input_ids: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor
    segment_query: torch.Tensor
    token_slot: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors in the order the vmapped loss takes them."""
        return (self.input_ids, self.positions, self.mask, self.segment_query, self.token_slot, self.targets,
                self.labels)


def shared_prefix_length(examples: Sequence[TrainExample]) -> int:
    """How many leading tokens all ``examples`` share, keeping at least one context token per row apart.

    Each row's part of the packed sequence must hold the token whose logits
    predict its first target token, so the prefix stops before each example's
    last context token.
    """
    contexts = [ex.input_ids[: ex.target_start] for ex in examples]
    return shared_length(contexts[0], contexts)


def _tail(example: TrainExample, prefix: int) -> tuple[int, ...]:
    """The row's tokens after the prefix that it feeds to the model (all but its last)."""
    return example.input_ids[prefix : len(example.input_ids) - 1]


def packed_length(rows: Sequence[TrainExample], prefix: int) -> int:
    """Tokens of one member's packed step: the prefix once plus every row's tail."""
    return prefix + sum(len(_tail(ex, prefix)) for ex in rows)


def step_inputs(
    member_rows: Sequence[Sequence[TrainExample]], prefix_lengths: Sequence[int], pad_id: int, dtype: torch.dtype
) -> StepInputs:
    """Builds one step's inputs from each member's rows and its shared prefix length.

    Args:
        member_rows: per member, the step's examples (at least one each).
        prefix_lengths: per member, how many leading tokens its rows share
            (at most :func:`shared_prefix_length` of them; 0 packs whole rows).
        pad_id: the pad token id.
        dtype: the mask's dtype (the model's).
    """
    members = len(member_rows)
    pairs = list(zip(member_rows, prefix_lengths, strict=True))
    total = max(packed_length(rows, p) for rows, p in pairs)
    n_targets = max(sum(ex.n_target_tokens for ex in rows) for rows in member_rows)
    n_prefix = max(prefix_lengths)
    # segments hold at most one row's tail of queries: a long prefix (demonstrations) is cut into
    # several segments rather than padding every row's segment to the prefix's length
    n_queries = max(len(_tail(ex, p)) for rows, p in pairs for ex in rows)
    n_segments = max(-(-p // n_queries) + len(rows) for rows, p in pairs)
    ids = torch.full((members, total), pad_id, dtype=torch.long)
    positions = torch.zeros((members, total), dtype=torch.long)
    segment_query = torch.zeros((members, n_segments, n_queries), dtype=torch.long)
    # a padding query slot sees its own first key slot only (any finite row keeps softmax finite; never read)
    allowed = torch.zeros((members, n_segments, n_queries, n_prefix + n_queries), dtype=torch.bool)
    allowed[..., n_prefix] = True
    own_causal = torch.ones((n_queries, n_queries), dtype=torch.bool).tril()
    token_slot = torch.zeros((members, total), dtype=torch.long)
    targets = torch.zeros((members, n_targets), dtype=torch.long)
    labels = torch.full((members, n_targets), IGNORE_INDEX, dtype=torch.long)
    for m, (rows, p) in enumerate(pairs):
        prefix = torch.arange(p)
        ids[m, :p] = torch.tensor(rows[0].input_ids[:p], dtype=torch.long)
        positions[m, :p] = prefix
        g = 0
        for first in range(0, p, n_queries):  # the prefix's pieces see the prefix block causally
            queries = prefix[first : first + n_queries]
            segment_query[m, g, : len(queries)] = queries
            allowed[m, g, : len(queries)] = False
            allowed[m, g, : len(queries), :p] = prefix[None, :] <= queries[:, None]
            token_slot[m, queries] = g * n_queries + torch.arange(len(queries))
            g += 1
        start, k = p, 0
        for ex in rows:  # each row sees the whole prefix, then its own tail causally
            tail_ids = _tail(ex, p)
            size = len(tail_ids)
            tail = torch.arange(start, start + size)
            ids[m, tail] = torch.tensor(tail_ids, dtype=torch.long)
            positions[m, tail] = torch.arange(p, p + size)
            segment_query[m, g, :size] = tail
            allowed[m, g, :size] = False
            allowed[m, g, :size, :p] = True
            allowed[m, g, :size, n_prefix : n_prefix + size] = own_causal[:size, :size]
            token_slot[m, tail] = g * n_queries + torch.arange(size)
            # the row's position target_start - 1 + j predicts its target token j
            t = ex.n_target_tokens
            targets[m, k : k + t] = tail[ex.target_start - 1 - p : ex.target_start - 1 - p + t]
            labels[m, k : k + t] = torch.tensor(ex.input_ids[ex.target_start :], dtype=torch.long)
            start, k, g = start + size, k + t, g + 1
    zero = torch.zeros((), dtype=dtype)
    mask = torch.where(allowed, zero, torch.finfo(dtype).min)
    return StepInputs(
        input_ids=ids[:, None], positions=positions[:, None], mask=mask[:, None], segment_query=segment_query,
        token_slot=token_slot, targets=targets[:, None], labels=labels[:, None],
    )
