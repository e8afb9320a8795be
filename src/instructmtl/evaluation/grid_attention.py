"""Attention of the grid's packed steps, computed segment by segment.

A packed step (:mod:`.grid_batch`) is one sequence holding a shared prompt
prefix and then several rows; a row's tokens attend to the prefix and to
their own earlier tokens only. Attending over the whole packed sequence with a
block mask is exact too, but its work grows with the square of the packed
length, most of it on pairs the mask throws away; through SDPA (which ``vmap``
runs member by member) it measured 3% slower on the tiny model's ``id`` steps
and no faster on ``pos-2``. Here the attention is computed per *segment* (the
prefix, then each row): each segment's queries and its own keys are
gathered, all segments' queries meet the prefix block's keys in one matrix
product and their own keys in small ones, one softmax runs over both, and
the outputs are put back in packed order. The matrix products of the rest of
the model still see the packed sequence, with no padding between rows.

It is registered with ``transformers``' attention interface under
:data:`ATTENTION_NAME`, and reads its layout from keyword arguments that the
model's forward passes through to attention (``segment_query``,
``token_slot``); the additive mask of the blocks comes as the
``attention_mask``, which ``transformers`` hands over as-is because it is 4-D.
The gathers are plain indexing, so ``torch.vmap`` batches them over members.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AttentionInterface

__all__ = ["ATTENTION_NAME", "segment_attention"]

ATTENTION_NAME = "instructmtl_segments"


def segment_attention(  # noqa: PLR0913  transformers' attention-function signature plus the two segment tensors
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    segment_query: torch.Tensor | None = None,
    token_slot: torch.Tensor | None = None,
    **_unused: object,
) -> tuple[torch.Tensor, None]:
    """Attention over the segments of a packed sequence.

    Args:
        module: the attention module (for its number of key/value groups and training flag).
        query: ``[B, H, T, D]``; key, value: ``[B, H_kv, T, D]``.
        attention_mask: ``[B, G, Q, P + Q]`` additive mask of each segment's queries over the
            prefix block (the first P positions) and then its own tokens.
        scaling: the softmax scale.
        dropout: attention dropout probability (applied in training only).
        segment_query: ``[G, Q]`` packed positions of each segment's queries.
        token_slot: ``[T]`` where each packed position's output is in the flattened ``[G * Q]`` queries.

    Returns:
        ``([B, T, H, D], None)``, the layout ``transformers``' attention functions return.
    """
    if segment_query is None or token_slot is None or attention_mask is None:
        raise ValueError("segment attention needs segment_query, token_slot and its 4-D mask")
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    segments, queries = segment_query.shape
    n_prefix = attention_mask.shape[-1] - queries
    batch, heads, _, dim = query.shape
    q = query[:, :, segment_query] * scaling  # [B, H, G, Q, D]
    own_k, own_v = key[:, :, segment_query], value[:, :, segment_query]
    prefix_k, prefix_v = key[:, :, :n_prefix], value[:, :, :n_prefix]
    # every segment's queries against the one prefix block: a single product over all G * Q queries
    flat_q = q.reshape(batch, heads, segments * queries, dim)
    prefix_scores = torch.matmul(flat_q, prefix_k.transpose(-1, -2)).view(batch, heads, segments, queries, n_prefix)
    own_scores = torch.matmul(q, own_k.transpose(-1, -2))  # [B, H, G, Q, Q]
    scores = torch.cat([prefix_scores, own_scores], dim=-1) + attention_mask[:, None]
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    prefix_probs, own_probs = probs.split([n_prefix, queries], dim=-1)
    from_prefix = torch.matmul(prefix_probs.reshape(batch, heads, segments * queries, n_prefix), prefix_v)
    out = from_prefix.view(batch, heads, segments, queries, dim) + torch.matmul(own_probs, own_v)
    flat = out.permute(0, 2, 3, 1, 4).reshape(batch, segments * queries, heads, dim)
    return flat[:, token_slot], None


AttentionInterface.register(ATTENTION_NAME, segment_attention)
