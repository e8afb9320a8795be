"""Tokenization rules and the shared-prefix KV cache used by the scorers.

Every prompt of one task starts with the same text (definition plus
demonstrations), often hundreds of tokens, followed by a short instance query.
Running that shared part through the model once and reusing its keys/values for
every instance is the main speed-up of evaluation. The cache must never change
*which* token ids the model sees, so the cached and the uncached paths agree to
float rounding:

* Token ids are always those of the whole context ``prefix + query``, encoded
  as one string. Encoding ``prefix`` and ``query`` apart would give different
  ids at the boundary of byte-level BPE tokenizers (SmolLM2 encodes
  ``"x\\n\\n"`` as one token but ``"x\\n\\nInput"`` with two newline tokens),
  and would stop matching lm-evaluation-harness, the benchmark reference.
* The cache then covers the longest run of leading ids that *every* context
  shares with ``encode(prefix)``: usually all prefix tokens but the last.

Special tokens are not added (``add_special_tokens=False``), as
lm-evaluation-harness does for causal LMs; a prompt that needs a BOS token
carries it in its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError


def encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of ``text`` without added special tokens."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_all(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[list[int]]:
    """:func:`encode` of each text, in one tokenizer call (a fast tokenizer batches it in Rust)."""
    return [list(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def encode_pair(tokenizer: PreTrainedTokenizerBase, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Splits ``context + continuation`` into context ids and continuation ids.

    This is lm-evaluation-harness's rule, kept identical so log-likelihoods can
    be compared with it: trailing whitespace of the context moves to the
    continuation (a BPE tokenizer glues a space to the next word), the whole
    string is encoded once, and the continuation is what follows the ids of the
    context encoded alone.

    Returns:
        ``(context_ids, continuation_ids)``; the model input is their concatenation.
    """
    context_ids, (continuation_ids,) = encode_choices(tokenizer, context, [continuation])
    return context_ids, continuation_ids


def encode_choices(
    tokenizer: PreTrainedTokenizerBase, context: str, continuations: Sequence[str]
) -> tuple[list[int], list[list[int]]]:
    """:func:`encode_pair` for several continuations of one context, the context encoded once.

    The context ids are those of the right-stripped context encoded alone, so
    they do not depend on the continuation -- also when a continuation's first
    characters merge with the context's last token in the joined string
    (``"The ca" + "t"``): the joined ids then differ from the context ids at
    the boundary, the continuation ids are still the joined ids after
    ``len(context_ids)``, and the model input is still ``context_ids +
    continuation_ids``, exactly as in lm-evaluation-harness. Hence every
    continuation of a context shares its context ids, which the scorer runs once.

    Returns:
        ``(context_ids, [continuation_ids, ...])`` in the order of ``continuations``.
    """
    return encode_many_choices(tokenizer, [(context, continuations)])[0]


def encode_many_choices(
    tokenizer: PreTrainedTokenizerBase, items: Sequence[tuple[str, Sequence[str]]]
) -> list[tuple[list[int], list[list[int]]]]:
    """:func:`encode_choices` of every ``(context, continuations)`` item, in one tokenizer call.

    A task's contexts all repeat its long prefix, so encoding them is a real
    share of scoring time; one batched call of a fast tokenizer pays its
    per-call overhead once and encodes the strings in parallel.
    """
    # The stripped whitespace moves into every continuation, so the joined
    # string is ``context + continuation`` unchanged.
    texts = []
    for context, continuations in items:
        texts.append(context.rstrip())
        texts.extend(context + cont for cont in continuations)
    ids = encode_all(tokenizer, texts)
    encoded, at = [], 0
    for _, continuations in items:
        context_ids = ids[at]
        joined = ids[at + 1 : at + 1 + len(continuations)]
        encoded.append((context_ids, [j[len(context_ids) :] for j in joined]))
        at += 1 + len(continuations)
    return encoded


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
        expanded = [
            (k.expand(batch_size, -1, -1, -1), v.expand(batch_size, -1, -1, -1)) for k, v in self.layers
        ]
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
