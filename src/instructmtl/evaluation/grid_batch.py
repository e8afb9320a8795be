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
from dataclasses import dataclass, fields

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
        return (
            self.input_ids,
            self.positions,
            self.mask,
            self.segment_query,
            self.token_slot,
            self.targets,
            self.labels,
        )


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


@dataclass(frozen=True)
class _Sizes:
    """The sizes every member of the step is padded to (the largest over members).

    Attributes:
        packed: packed positions of a member (T): its prefix once, then every row's tail.
        targets: target tokens of a member (N).
        prefix: keys of the prefix block (P): the longest prefix.
        queries: query slots of a segment (Q): the longest row tail.
        segments: segments of a member (G): its prefix's pieces, then one per row.
    """

    packed: int
    targets: int
    prefix: int
    queries: int
    segments: int

    @classmethod
    def of(cls, members: Sequence[tuple[Sequence[TrainExample], int]]) -> _Sizes:
        """The sizes of the step whose members are ``(rows, prefix length)``."""
        # segments hold at most one row's tail of queries: a long prefix (demonstrations) is cut into
        # several segments rather than padding every row's segment to the prefix's length
        queries = max(len(_tail(ex, prefix)) for rows, prefix in members for ex in rows)
        return cls(
            packed=max(packed_length(rows, prefix) for rows, prefix in members),
            targets=max(sum(ex.n_target_tokens for ex in rows) for rows, _ in members),
            prefix=max(prefix for _, prefix in members),
            queries=queries,
            segments=max(-(-prefix // queries) + len(rows) for rows, prefix in members),
        )


@dataclass(frozen=True)
class _Tensors:
    """The step's tensors while they are filled in: member-major, or one member's views of them.

    Attributes:
        ids, positions, token_slot: ``[M, T]``, per packed position.
        segment_query: ``[M, G, Q]``, per segment and query slot.
        visible: ``[M, G, Q, P + Q]`` which keys each query sees (the mask before it is made additive).
        targets, labels: ``[M, N]``, per target token.
    """

    ids: torch.Tensor
    positions: torch.Tensor
    token_slot: torch.Tensor
    segment_query: torch.Tensor
    visible: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def empty(cls, members: int, sizes: _Sizes, pad_id: int) -> _Tensors:
        visible = torch.zeros((members, sizes.segments, sizes.queries, sizes.prefix + sizes.queries), dtype=torch.bool)
        # a padding query slot sees its own first key slot only (any finite row keeps softmax finite; never read)
        visible[..., sizes.prefix] = True
        return cls(
            ids=torch.full((members, sizes.packed), pad_id, dtype=torch.long),
            positions=torch.zeros((members, sizes.packed), dtype=torch.long),
            token_slot=torch.zeros((members, sizes.packed), dtype=torch.long),
            segment_query=torch.zeros((members, sizes.segments, sizes.queries), dtype=torch.long),
            visible=visible,
            targets=torch.zeros((members, sizes.targets), dtype=torch.long),
            labels=torch.full((members, sizes.targets), IGNORE_INDEX, dtype=torch.long),
        )

    def member(self, index: int) -> _Tensors:
        """Member ``index``'s views: writing into them fills the step's tensors."""
        return _Tensors(*(getattr(self, f.name)[index] for f in fields(self)))


@dataclass
class _Cursor:
    """Where a member's next row goes: its segment, its first packed position and its first target slot."""

    segment: int
    packed: int
    target: int


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
    members = list(zip(member_rows, prefix_lengths, strict=True))
    sizes = _Sizes.of(members)
    tensors = _Tensors.empty(len(members), sizes, pad_id)
    for index, (rows, prefix) in enumerate(members):
        member = tensors.member(index)
        cursor = _Cursor(
            segment=_lay_out_prefix(member, rows[0].input_ids[:prefix], sizes.queries), packed=prefix, target=0
        )
        for example in rows:
            _lay_out_row(member, sizes, example, prefix, cursor)
    zero = torch.zeros((), dtype=dtype)
    mask = torch.where(tensors.visible, zero, torch.finfo(dtype).min)
    return StepInputs(
        input_ids=tensors.ids[:, None],
        positions=tensors.positions[:, None],
        mask=mask[:, None],
        segment_query=tensors.segment_query,
        token_slot=tensors.token_slot,
        targets=tensors.targets[:, None],
        labels=tensors.labels[:, None],
    )


def _lay_out_prefix(member: _Tensors, prefix_ids: Sequence[int], queries: int) -> int:
    """Writes the shared prefix at packed positions ``0 .. P - 1``, cut into segments of at most
    ``queries`` queries that see the prefix block causally; returns how many segments it took."""
    prefix = torch.arange(len(prefix_ids))
    member.ids[: len(prefix)] = torch.tensor(prefix_ids, dtype=torch.long)
    member.positions[: len(prefix)] = prefix
    segment = 0
    for first in range(0, len(prefix), queries):
        piece = prefix[first : first + queries]
        member.segment_query[segment, : len(piece)] = piece
        member.visible[segment, : len(piece)] = False
        member.visible[segment, : len(piece), : len(prefix)] = prefix[None, :] <= piece[:, None]
        member.token_slot[piece] = segment * queries + torch.arange(len(piece))
        segment += 1
    return segment


def _lay_out_row(member: _Tensors, sizes: _Sizes, example: TrainExample, prefix: int, cursor: _Cursor) -> None:
    """Writes one row's tail at the cursor as its own segment: it sees the whole prefix, then its
    own tail causally; its target tokens go to the next target slots. Advances the cursor."""
    tail_ids = _tail(example, prefix)
    size = len(tail_ids)
    packed = torch.arange(cursor.packed, cursor.packed + size)  # the tail's packed positions
    member.ids[packed] = torch.tensor(tail_ids, dtype=torch.long)
    member.positions[packed] = torch.arange(prefix, prefix + size)  # its positions in the row alone
    segment = cursor.segment
    member.segment_query[segment, :size] = packed
    member.visible[segment, :size] = False
    member.visible[segment, :size, :prefix] = True
    member.visible[segment, :size, sizes.prefix : sizes.prefix + size] = torch.ones(
        (size, size), dtype=torch.bool
    ).tril()
    member.token_slot[packed] = segment * sizes.queries + torch.arange(size)
    # the row's position target_start - 1 + j predicts its target token j
    n_targets, first_predictor = example.n_target_tokens, example.target_start - 1 - prefix
    slots = slice(cursor.target, cursor.target + n_targets)
    member.targets[slots] = packed[first_predictor : first_predictor + n_targets]
    member.labels[slots] = torch.tensor(example.input_ids[example.target_start :], dtype=torch.long)
    cursor.segment, cursor.packed, cursor.target = segment + 1, cursor.packed + size, cursor.target + n_targets
