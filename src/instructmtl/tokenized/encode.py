"""How text becomes token ids, one rule for every scorer and every trainer.

Token ids are always those of a whole context encoded as one string, and a
``context + continuation`` pair is split with lm-evaluation-harness's rule
(:func:`encode_pair`), so the model is trained on the segmentation it is scored
on and our log-likelihoods compare with the harness's. Encoding pieces apart
would give different ids at the boundary of byte-level BPE tokenizers (SmolLM2
encodes ``"x\\n\\n"`` as one token but ``"x\\n\\nInput"`` with two newline tokens).

Special tokens are not added (``add_special_tokens=False``), as
lm-evaluation-harness does for causal LMs; a prompt that needs a BOS token
carries it in its text.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase


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
