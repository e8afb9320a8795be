"""Batched greedy generation after a shared prompt prefix.

Written by hand rather than with ``model.generate`` because the shared prefix
is run once per task and its KV cache reused by every batch
(:mod:`._prefix_cache`), with the queries left-padded *after* it; explicit
per-row positions and masks make each row see exactly what it would see
alone, so batched output equals unbatched greedy decoding. Prompt ids are
those of ``prefix + query`` encoded as one string, as lm-evaluation-harness's
``generate_until`` does.

A row stops at the end of its first line (SNI answers are one line), at the
tokenizer's EOS token, or at ``max_new_tokens``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation._prefix_cache import PrefixCache, left_padded, prefix_cache_for
from instructmtl.tokenized.encode import encode_all

__all__ = ["generate_greedy", "max_new_tokens_for"]


def max_new_tokens_for(tokenizer: PreTrainedTokenizerBase, outputs: Sequence[str], cap: int = 256) -> int:
    """A generation length bound that fits a task's reference outputs.

    One and a half times the longest output in tokens, plus 2 for the leading
    space and the newline that ends the answer, capped so one runaway task
    cannot dominate the evaluation time.

    Args:
        tokenizer: the model's tokenizer.
        outputs: the task's reference outputs (all instances, all references).
        cap: the largest bound returned.

    Raises:
        InstructMTLError: if ``outputs`` is empty.
    """
    if not outputs:
        raise InstructMTLError("max_new_tokens_for: the task has no reference outputs; give at least one")
    longest = max(len(ids) for ids in encode_all(tokenizer, outputs))
    return min(cap, math.ceil(1.5 * longest) + 2)


def _row_done(tokenizer: PreTrainedTokenizerBase, tokens: list[int], stop_at_newline: bool) -> bool:
    """Whether a row's generated tokens already end its answer."""
    if tokens[-1] == tokenizer.eos_token_id:
        return True
    return stop_at_newline and "\n" in tokenizer.decode(tokens, skip_special_tokens=True)


@torch.inference_mode()
def _generate_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    cache: PrefixCache,
    prompts: list[list[int]],
    max_new_tokens: int,
    stop_at_newline: bool,
) -> list[list[int]]:
    """Greedy token ids for each prompt of one batch (up to and including the stop token)."""
    device = model.device
    input_ids, mask, positions = left_padded(prompts, cache.length, device)
    mask = torch.cat([cache.attention_prefix(len(prompts), device), mask], dim=1)
    kv = cache.for_batch(model, len(prompts))
    generated: list[list[int]] = [[] for _ in prompts]
    done = [False] * len(prompts)
    for step in range(max_new_tokens):
        out = model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, cache=kv, use_cache=True, logits_to_keep=1
        )
        kv = out.cache
        next_ids = out.logits[:, -1].argmax(-1)
        for r, token in enumerate(next_ids.tolist()):
            if not done[r]:
                generated[r].append(token)
                done[r] = _row_done(tokenizer, generated[r], stop_at_newline)
        if all(done) or step == max_new_tokens - 1:
            break
        # Finished rows keep decoding (their tokens are ignored) so the batch stays rectangular.
        input_ids = next_ids[:, None]
        mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=mask.dtype, device=device)], dim=1)
        positions = positions[:, -1:] + 1
    return generated


def _to_text(tokenizer: PreTrainedTokenizerBase, tokens: list[int], stop_at_newline: bool) -> str:
    """Decoded answer: special tokens dropped, cut at the first newline, stripped."""
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    assert isinstance(text, str)  # one sequence decodes to one string
    if stop_at_newline:
        text = text.split("\n", 1)[0]
    return text.strip()


def generate_greedy(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    queries: Sequence[str],
    max_new_tokens: int,
    stop_at_newline: bool = True,
    batch_size: int = 8,
) -> list[str]:
    """Greedy continuation of ``prefix + query`` for each query, prefix computed once.

    Args:
        model: a causal LM with full attention, in eval mode.
        tokenizer: its tokenizer; its ``eos_token_id`` ends a row.
        prefix: text shared by every prompt (definition, demonstrations).
        queries: the instance-specific ends of the prompts.
        max_new_tokens: the most tokens generated per query
            (see :func:`max_new_tokens_for`).
        stop_at_newline: end an answer at its first newline (SNI answers are one line).
        batch_size: queries decoded together.

    Returns:
        Per query, the generated text without special tokens, cut at the first
        newline when ``stop_at_newline``, with surrounding whitespace stripped.

    Raises:
        InstructMTLError: if a prompt encodes to no tokens or ``max_new_tokens < 1``.
    """
    if max_new_tokens < 1:
        raise InstructMTLError(f"generate_greedy: max_new_tokens={max_new_tokens}; it must be at least 1")
    if not queries:
        return []
    prompts = encode_all(tokenizer, [prefix + query for query in queries])
    if any(not p for p in prompts):
        raise InstructMTLError("generate_greedy: a prompt (prefix + query) encodes to no tokens; give a prompt")
    cache = prefix_cache_for(model, tokenizer, prefix, prompts)
    # Longest first keeps left padding small; results go back in query order.
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    texts = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        tokens = _generate_batch(model, tokenizer, cache, [prompts[i] for i in batch], max_new_tokens, stop_at_newline)
        for index, row in zip(batch, tokens, strict=True):
            texts[index] = _to_text(tokenizer, row, stop_at_newline)
    return texts
