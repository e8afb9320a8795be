"""The shared-prefix KV cache used by the scorers.

Every prompt of one task starts with the same text (definition plus
demonstrations), often hundreds of tokens, followed by a short instance query.
Running that shared part through the model once and reusing its keys/values for
every instance is the main speed-up of evaluation. The cache must never change
*which* token ids the model sees, so the cached and the uncached paths agree to
float rounding:

* Token ids are always those of the whole context ``prefix + query``, encoded
  as one string (:mod:`instructmtl.tokenized.encode`, lm-evaluation-harness's
  rule, the benchmark reference).
* The cache then covers the longest run of leading ids that *every* context
  shares with ``encode(prefix)``: usually all prefix tokens but the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.tokenized.encode import encode


def shared_length(prefix_ids: Sequence[int], contexts: Sequence[Sequence[int]]) -> int:
    """How many leading ids of ``prefix_ids`` every context starts with.

    At least one token of each context is left out of the cache, because the
    logits of a context's last token predict its first scored/generated token
    and the cache keeps no logits.
    """
    length = min([len(prefix_ids)] + [len(c) - 1 for c in contexts])
    for ids in contexts:
        agree = 0
        while agree < length and ids[agree] == prefix_ids[agree]:
            agree += 1
        length = agree
    return max(length, 0)


def left_padded(
    sequences: Sequence[Sequence[int]], start: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids, mask, positions)`` of the ``sequence[start:]`` rows, left-padded.

    The first ``start`` ids are in the prefix cache. Left padding puts every
    row's last token in the last column (where generation reads the next
    token and where continuation logits line up); the pads then sit between
    the cached prefix and the row, masked out. Positions count only real
    tokens and continue after the cached ones, so each token keeps the
    position it has in its unpadded sequence.
    """
    width = max(len(s) - start for s in sequences)
    input_ids = torch.zeros(len(sequences), width, dtype=torch.long, device=device)
    mask = torch.zeros(len(sequences), width, dtype=torch.long, device=device)
    for r, sequence in enumerate(sequences):
        rest = sequence[start:]
        input_ids[r, width - len(rest) :] = torch.tensor(rest, dtype=torch.long)
        mask[r, width - len(rest) :] = 1
    positions = start + (mask.cumsum(-1) - 1).clamp(min=0)
    return input_ids, mask, positions


@dataclass(frozen=True)
class PrefixCache:
    """Keys and values of a shared prompt prefix, for batch size one.

    The tensors are never modified: :meth:`for_batch` hands out a fresh
    :class:`~transformers.DynamicCache` whose layers start from expanded
    views, and ``DynamicCache`` grows a layer by concatenation, which makes
    new tensors. So one ``PrefixCache`` serves every batch of a task.

    Attributes:
        length: number of cached tokens (0 means no cache).
        layers: per decoder layer, ``(keys, values)`` of shape
            ``[1, kv_heads, length, head_dim]``.
    """

    length: int
    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]

    def for_batch(self, model: PreTrainedModel, batch_size: int) -> DynamicCache | None:
        """A new cache holding the prefix for ``batch_size`` rows, or ``None`` when empty."""
        if self.length == 0:
            return None
        expanded = [(k.expand(batch_size, -1, -1, -1), v.expand(batch_size, -1, -1, -1)) for k, v in self.layers]
        return DynamicCache(ddp_cache_data=expanded, config=model.config)

    def attention_prefix(self, batch_size: int, device: torch.device) -> torch.Tensor:
        """The all-ones attention-mask columns that cover the cached tokens."""
        return torch.ones(batch_size, self.length, dtype=torch.long, device=device)


@torch.inference_mode()
def compute_prefix_cache(model: PreTrainedModel, ids: Sequence[int]) -> PrefixCache:
    """Runs the shared prefix through ``model`` once and keeps its keys/values.

    Raises:
        InstructMTLError: if the model's cache kept fewer positions than it was
            given (sliding-window attention), since reusing it would silently
            change what the model attends to.
    """
    if not ids:
        return PrefixCache(length=0, layers=())
    input_ids = torch.tensor([list(ids)], dtype=torch.long, device=model.device)
    out = model(input_ids=input_ids, use_cache=True, logits_to_keep=1)
    layers = tuple((layer.keys, layer.values) for layer in out.cache.layers)
    for keys, _ in layers:
        if keys.shape[-2] != len(ids):
            raise InstructMTLError(
                f"model {model.config.model_type}: its KV cache keeps {keys.shape[-2]} of {len(ids)} prefix "
                "positions (sliding-window attention); shared-prefix scoring needs a full-attention model"
            )
    return PrefixCache(length=len(ids), layers=layers)


def prefix_cache_for(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prefix: str, contexts: Sequence[Sequence[int]]
) -> PrefixCache:
    """The cache of the longest part of ``prefix`` that all ``contexts`` share token for token."""
    prefix_ids = encode(tokenizer, prefix)
    return compute_prefix_cache(model, prefix_ids[: shared_length(prefix_ids, contexts)])
