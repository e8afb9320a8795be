"""One optimizer step's inputs for the transfer grid: each member's rows packed into one sequence.

All training prompts of a task start with the same tokens (the task
identifier or demonstrations, then the query's ``Now complete the following
example -`` line): with the ``id`` encoding and a small vocabulary that is
a third to two thirds of every row. A member's step is therefore one packed
sequence: the shared prefix once, then each row's remaining tokens one after
the other, with no padding between rows. Each row's tokens keep the
positions they have in the row, and attention is computed per segment (the
prefix, then each row, :mod:`.grid_attention`): a row attends to the prefix
and to its own earlier tokens, exactly what it sees run alone (causal
attention makes the prefix's keys and values independent of what follows;
backward sums the rows' gradients into the prefix). Against one left-padded
row per instance this drops the padding to the step's longest row (a quarter
of the grid's tokens on the built-in suite, whose rows vary in length) as
well as the repeated prefix.

Shapes must agree across members for ``vmap``: packed sequences are
right-padded to the chunk's longest (a pad belongs to no segment, so nothing
attends to it, and its output is never read), and segments to the chunk's
most rows and longest segment (a padding query slot sees one key, so softmax
stays finite; its output is never gathered). Logits are computed only at the
positions that predict a target token (``targets``), gathered per member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from instructmtl.evaluation._prefix_cache import shared_length
from instructmtl.training.examples import IGNORE_INDEX, TrainExample

__all__ = ["StepInputs", "packed_length", "shared_prefix_length", "step_inputs"]


@dataclass(frozen=True)
class StepInputs:
    """A step's tensors, member-major (leading dimension M), for the vmapped loss.

    Attributes:
        input_ids, positions: ``[M, 1, T]``, the prefix then every row's tokens after it, right-padded.
        mask: ``[M, 1, G, Q, K]`` additive mask of each segment's queries over its keys
            (:mod:`.grid_attention`): first the prefix, cut into pieces of at most Q queries, then
            one segment per row; Q is the longest row tail.
        segment_query: ``[M, G, Q]`` packed positions of each segment's queries.
        segment_key: ``[M, G, K]`` packed positions of each segment's keys: the prefix, then its own tokens.
        token_slot: ``[M, T]`` each packed position's place among the flattened ``G * Q`` queries.
        targets: ``[M, 1, N]`` packed positions whose logits predict a target token (0 where unused).
        labels: ``[M, 1, N]`` the token each of them predicts (``IGNORE_INDEX`` where unused).
    """

    input_ids: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor
    segment_query: torch.Tensor
    segment_key: torch.Tensor
    token_slot: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors in the order the vmapped loss takes them."""
        return (self.input_ids, self.positions, self.mask, self.segment_query, self.segment_key, self.token_slot,
                self.targets, self.labels)


def shared_prefix_length(examples: Sequence[TrainExample]) -> int:
    """How many leading tokens all ``examples`` share, keeping at least one context token per row apart.

    Each row's part of the packed sequence must hold the token whose logits
    predict its first target token, so the prefix stops before each example's
    last context token.
    """
    contexts = [ex.input_ids[: ex.target_start] for ex in examples]
    return shared_length(contexts[0], contexts)


def packed_length(rows: Sequence[TrainExample], prefix: int) -> int:
    """Tokens of one member's packed step: the prefix once plus every row's tokens after it."""
    return prefix + sum(len(ex.input_ids) - prefix for ex in rows)


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
    lengths = [packed_length(rows, p) for rows, p in zip(member_rows, prefix_lengths, strict=True)]
    total = max(lengths)
    n_targets = max(sum(ex.n_target_tokens for ex in rows) for rows in member_rows)
    # segments hold at most one row's tail of queries: a long prefix (demonstrations) is cut into
    # several segments rather than padding every row's segment to the prefix's length
    n_queries = max(len(ex.input_ids) - p for rows, p in zip(member_rows, prefix_lengths, strict=True) for ex in rows)
    n_segments = max(-(-p // n_queries) + len(rows) for rows, p in zip(member_rows, prefix_lengths, strict=True))
    n_keys = max(p + max(len(ex.input_ids) - p for ex in rows)
                 for rows, p in zip(member_rows, prefix_lengths, strict=True))
    ids = torch.full((members, total), pad_id, dtype=torch.long)
    positions = torch.zeros((members, total), dtype=torch.long)
    segment_query = torch.zeros((members, n_segments, n_queries), dtype=torch.long)
    segment_key = torch.zeros((members, n_segments, n_keys), dtype=torch.long)
    # a padding query slot may see its key slot 0 only (any finite row keeps softmax finite; never read)
    allowed = torch.zeros((members, n_segments, n_queries, n_keys), dtype=torch.bool)
    allowed[..., 0] = True
    token_slot = torch.zeros((members, total), dtype=torch.long)
    targets = torch.zeros((members, n_targets), dtype=torch.long)
    labels = torch.full((members, n_targets), IGNORE_INDEX, dtype=torch.long)
    for m, (rows, p) in enumerate(zip(member_rows, prefix_lengths, strict=True)):
        prefix = torch.arange(p)
        ids[m, :p] = torch.tensor(rows[0].input_ids[:p], dtype=torch.long)
        positions[m, :p] = prefix
        # (query positions, key positions) in the packed sequence; the prefix sees itself causally
        segments = [(prefix[i : i + n_queries], prefix) for i in range(0, p, n_queries)]
        start, k = p, 0
        for ex in rows:
            tail = torch.arange(start, start + len(ex.input_ids) - p)
            ids[m, tail] = torch.tensor(ex.input_ids[p:], dtype=torch.long)
            positions[m, tail] = torch.arange(p, len(ex.input_ids))
            segments.append((tail, torch.cat([prefix, tail])))
            # the row's position target_start - 1 + j predicts its target token j
            t = ex.n_target_tokens
            targets[m, k : k + t] = tail[ex.target_start - 1 - p : ex.target_start - 1 - p + t]
            labels[m, k : k + t] = torch.tensor(ex.input_ids[ex.target_start :], dtype=torch.long)
            start, k = start + len(tail), k + t
        for g, (queries, keys) in enumerate(segments):
            q, kk = len(queries), len(keys)
            segment_query[m, g, :q] = queries
            segment_key[m, g, :kk] = keys
            # within a segment, a key is visible when it is no later in the row than the query
            allowed[m, g, :q, :kk] = positions[m, keys][None, :] <= positions[m, queries][:, None]
            token_slot[m, queries] = g * n_queries + torch.arange(q)
    zero = torch.zeros((), dtype=dtype)
    mask = torch.where(allowed, zero, torch.finfo(dtype).min)
    return StepInputs(
        input_ids=ids[:, None], positions=positions[:, None], mask=mask[:, None], segment_query=segment_query,
        segment_key=segment_key, token_slot=token_slot, targets=targets[:, None], labels=labels[:, None],
    )
