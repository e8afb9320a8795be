"""Packing the scored part of many instances into few rows after a shared prefix.

After the cached prefix, an instance needs its query run once (the logits
after its last token score the first token of every label) and, for each
label of more than one token, that label's tokens but the last (each
predicts the next). One padded row per instance (or per label) spends
compute on pads and, for labels, on copies of the query's cache. Instead
whole instances are laid side by side in a few rows, and a 4-D attention
mask keeps every token's view what it would be alone:

* every token sees the whole cached prefix;
* a query token sees the earlier tokens of its own query;
* a label token sees its instance's query and the earlier tokens of its own
  label, not the other labels of the instance;
* pads (at the end of a row) see the prefix and earlier pads only.

Position ids are each token's position in its own unpadded sequence
(``prefix + query + label``), so rotary embeddings see what they would see
alone. The mask is additive (0 or the dtype's minimum), which both the
``sdpa`` and the ``eager`` attention of transformers take as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import PreTrainedModel

from instructmtl.contiguous import cheapest_runs

__all__ = ["CostModel", "Instance", "PackedBatch", "pack_rows", "packed_batch"]

#: Masked attention runs at about half the matmul rate per FLOP (flash
#: attention with a float mask against the linear layers, on the development
#: CPU: 1.4x slower at SmolLM2's head size, 1.6-3x at the tiny model's), so an
#: attended pair is weighed this much heavier than its FLOPs in :class:`CostModel`.
ATTENTION_SLOWDOWN = 2.0

#: Fixed cost of one more forward, per layer, in FLOPs: transformers spends
#: ~0.6 ms of Python and kernel launches per decoder layer regardless of size
#: (a one-token forward of the 4-layer tiny model: 2.6 ms), which is this many
#: FLOPs at the development CPU's ~80 GFLOP/s matmul rate.
FORWARD_OVERHEAD = 5e7


@dataclass(frozen=True)
class CostModel:
    """Relative cost of a packed forward, to choose how full rows are.

    Longer rows need fewer pads, but every token attends to its whole row
    (masked, not skipped), so the best row length depends on the model: on
    a small model attention is a large share of a token's cost, on a larger
    one the linear layers dominate and long rows win.

    Attributes:
        token: linear-layer FLOPs of one token in one layer.
        pair: attention FLOPs of one (token, attended position) pair in one
            layer, weighed by :data:`ATTENTION_SLOWDOWN`.
        overhead: fixed cost of a forward in one layer, in FLOPs
            (:data:`FORWARD_OVERHEAD`).
    """

    token: float
    pair: float
    overhead: float

    @classmethod
    def of(cls, model: PreTrainedModel) -> CostModel:
        """The costs of ``model``'s decoder layers, read from its config and parameter count."""
        config = model.config
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        body = model.num_parameters(exclude_embeddings=True)
        output = model.get_output_embeddings()
        if output is not None and output.weight is not model.get_input_embeddings().weight:
            body -= output.weight.numel()  # an untied output layer only runs at scored positions
        return cls(
            token=2 * body / config.num_hidden_layers,
            pair=4 * heads * head_dim * ATTENTION_SLOWDOWN,
            overhead=FORWARD_OVERHEAD,
        )

    def forward(self, rows: int, width: int, cached: int) -> float:
        """Cost of ``rows`` rows of ``width`` tokens after ``cached`` prefix positions."""
        return self.overhead + rows * width * (self.token + self.pair * (cached + width))


@dataclass(frozen=True)
class Instance:
    """One instance as token ids: its context and every continuation.

    One context serves all continuations because lm-eval's split encodes the
    context alone (see :func:`instructmtl.tokenized.encode.encode_choices`), so the model
    input of every choice starts with the same ids.
    """

    context: list[int]
    continuations: list[list[int]]

    def packed_length(self, start: int) -> int:
        """Tokens this instance occupies in a row when ``start`` context tokens are cached."""
        return len(self.context) - start + sum(len(cont) - 1 for cont in self.continuations)


def _first_fit(lengths: Sequence[int], capacity: int) -> list[tuple[list[int], int]]:
    """First-fit decreasing: ``(indices, filled)`` rows, fullest first.

    Instances, longest first, go into the first row with room for them, so
    rows end up nearly equally full.
    """
    rows: list[list[int]] = []
    filled: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        row = next((r for r, used in enumerate(filled) if used + lengths[index] <= capacity), None)
        if row is None:
            rows.append([])
            filled.append(0)
            row = len(rows) - 1
        rows[row].append(index)
        filled[row] += lengths[index]
    return sorted(zip(rows, filled, strict=True), key=lambda r: -r[1])


def _split(
    rows: Sequence[tuple[list[int], int]], start: int, batch_size: int, cost: CostModel
) -> tuple[float, list[list[list[int]]]]:
    """The cheapest cut of ``rows`` (fullest first) into forwards of at most ``batch_size`` consecutive rows.

    A forward is as wide as its fullest row, so cutting where fills drop saves
    padding, at the price of one more forward (:func:`instructmtl.contiguous.cheapest_runs`).

    Returns:
        ``(cost, forwards)``, each forward a list of rows of instance indices.
    """
    # rows are fullest first, so a forward is as wide as its first row
    total, runs = cheapest_runs(
        len(rows), batch_size, lambda begin, end: cost.forward(end - begin, rows[begin][1], start)
    )
    return total, [[indices for indices, _ in rows[begin:end]] for begin, end in runs]


def pack_rows(instances: Sequence[Instance], start: int, batch_size: int, cost: CostModel) -> list[list[list[int]]]:
    """Groups instance indices into rows and rows into forwards, at the least estimated cost.

    Row capacities from the longest instance up to all instances in one row
    (doubling) are tried; each packs first-fit decreasing and is cut into
    forwards of at most ``batch_size`` rows by :func:`_split`; the cheapest
    under ``cost`` is kept.

    Returns:
        Per forward, its rows, each a list of instance indices.
    """
    lengths = [instance.packed_length(start) for instance in instances]
    capacity, best, best_cost = max(lengths), [], float("inf")
    while True:
        rows = _first_fit(lengths, capacity)
        total, forwards = _split(rows, start, batch_size, cost)
        if total < best_cost:
            best, best_cost = forwards, total
        if len(rows) == 1:
            return best
        capacity *= 2


@dataclass(frozen=True)
class PackedBatch:
    """The model inputs of one packed forward, and where each continuation's tokens are scored.

    Attributes:
        instances: instance indices in scoring order (row by row).
        input_ids: ``[rows, width]``; pads are 0.
        position_ids: ``[rows, width]``.
        segment: ``[rows, width]`` which instance of the batch a token
            belongs to, ``-1`` for pads.
        branch: ``[rows, width]`` 0 for query tokens, ``j`` for the tokens of
            the instance's ``j``-th multi-token label.
        keep: ``[rows, width]`` positions whose logits are needed (each
            query's last token and every fed label token); the model returns
            their logits flattened, row by row.
        score_position: per scored token, its index among the kept logits.
        score_target: per scored token, its id.
        score_owner: per scored token, its continuation's index in scoring
            order (instances in ``instances`` order, then their labels).
        n_scored: number of continuations.
    """

    instances: tuple[int, ...]
    input_ids: torch.Tensor
    position_ids: torch.Tensor
    segment: torch.Tensor
    branch: torch.Tensor
    keep: torch.Tensor
    score_position: torch.Tensor
    score_target: torch.Tensor
    score_owner: torch.Tensor
    n_scored: int

    @property
    def rows(self) -> int:
        return self.input_ids.shape[0]

    def attention_mask(self, cached: int, dtype: torch.dtype) -> torch.Tensor:
        """The additive ``[rows, 1, width, cached + width]`` mask (see the module docstring)."""
        segment, branch = self.segment, self.branch
        width = segment.shape[1]
        causal = torch.ones(width, width, dtype=torch.bool, device=segment.device).tril()
        same_sequence = (segment[:, :, None] == segment[:, None, :]) & (
            (branch[:, None, :] == 0) | (branch[:, :, None] == branch[:, None, :])
        )
        prefix = torch.ones(self.rows, width, cached, dtype=torch.bool, device=segment.device)
        visible = torch.cat([prefix, same_sequence & causal], dim=-1)
        mask = torch.zeros(visible.shape, dtype=dtype, device=segment.device)
        return mask.masked_fill_(~visible, torch.finfo(dtype).min)[:, None]


@dataclass
class _Row:
    """One row as it is laid out, one entry per token (the fields of :class:`PackedBatch`, unpadded)."""

    ids: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    segment: list[int] = field(default_factory=list)
    branch: list[int] = field(default_factory=list)
    keep: list[bool] = field(default_factory=list)

    def append(self, ids: Sequence[int], first_position: int, segment: int, branch: int, keep: Sequence[bool]) -> None:
        """Appends a run of tokens of one sequence, at positions from ``first_position`` on."""
        self.ids += ids
        self.positions += range(first_position, first_position + len(ids))
        self.segment += [segment] * len(ids)
        self.branch += [branch] * len(ids)
        self.keep += keep


@dataclass
class _ScoredTokens:
    """Every scored token of a batch, in scoring order, and the counters that number them.

    Attributes:
        logit: per scored token, the index of the kept logits that predict it.
        target: per scored token, its id.
        continuation: per scored token, the continuation it belongs to (scoring order).
        kept: logits kept so far, row-major: the index the next kept logit gets.
        continuations: continuations numbered so far.
    """

    logit: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    continuation: list[int] = field(default_factory=list)
    kept: int = 0
    continuations: int = 0

    def keep(self, count: int) -> int:
        """Numbers ``count`` more kept logits; returns the index of the first."""
        first = self.kept
        self.kept += count
        return first

    def score(self, continuation: int, logits: Sequence[int], targets: Sequence[int]) -> None:
        """Records that ``logits[i]`` scores ``targets[i]``, a token of ``continuation``."""
        self.logit += logits
        self.target += targets
        self.continuation += [continuation] * len(targets)


def _lay_out(instance: Instance, start: int, segment: int, row: _Row, scored: _ScoredTokens) -> None:
    """Appends ``instance`` to ``row``: its query, then each multi-token label's tokens but the last.

    The query's last logits score every label's first token; a fed label token's
    logits score the label's next token.
    """
    query = instance.context[start:]
    row.append(query, start, segment, 0, [False] * (len(query) - 1) + [True])
    query_logit = scored.keep(1)
    label_start = start + len(query)
    branch = 0  # the instance's multi-token labels so far: each is its own branch after the query
    for label in instance.continuations:
        continuation = scored.continuations
        scored.continuations += 1
        scored.score(continuation, [query_logit], [label[0]])
        fed = label[:-1]
        if fed:
            branch += 1
            row.append(fed, label_start, segment, branch, [True] * len(fed))
            first = scored.keep(len(fed))
            scored.score(continuation, range(first, first + len(fed)), label[1:])


def packed_batch(
    instances: Sequence[Instance], rows: Sequence[Sequence[int]], start: int, device: torch.device | str = "cpu"
) -> PackedBatch:
    """Lays out ``rows`` of instances (indices into ``instances``) after ``start`` cached tokens."""
    laid_out: list[_Row] = []
    scored = _ScoredTokens()
    order: list[int] = []  # instance indices in scoring order; an instance's segment is its place here
    for indices in rows:
        row = _Row()
        for index in indices:
            _lay_out(instances[index], start, len(order), row, scored)
            order.append(index)
        laid_out.append(row)
    width = max(len(row.ids) for row in laid_out)

    def padded(values: list[list[int]] | list[list[bool]], pad: int | bool, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor([v + [pad] * (width - len(v)) for v in values], dtype=dtype, device=device)

    def flat(values: list[int]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long, device=device)

    return PackedBatch(
        instances=tuple(order),
        input_ids=padded([row.ids for row in laid_out], 0, torch.long),
        position_ids=padded([row.positions for row in laid_out], 0, torch.long),
        segment=padded([row.segment for row in laid_out], -1, torch.long),
        branch=padded([row.branch for row in laid_out], 0, torch.long),
        keep=padded([row.keep for row in laid_out], False, torch.bool),
        score_position=flat(scored.logit),
        score_target=flat(scored.target),
        score_owner=flat(scored.continuation),
        n_scored=scored.continuations,
    )
