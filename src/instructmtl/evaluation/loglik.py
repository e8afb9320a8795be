"""Log-likelihood of continuations given a prompt, with a shared-prefix KV cache.

Rank classification (pick the label the model finds most likely) and the ICL
target NLL both need ``log p(continuation | prefix + query)``. All instances of
a task share ``prefix`` (definition plus demonstrations), so it is run through
the model once (:mod:`._prefix_cache`) and each batch of ``query +
continuation`` rows continues from it. ``score_continuations_uncached`` is the
plain full-sequence reference that the cached path must equal.

Tokenization is lm-evaluation-harness's (see
:func:`._prefix_cache.encode_pair` with context ``prefix + query``), so the
numbers can be compared with it token for token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation._prefix_cache import PrefixCache, encode_pair, left_padded, prefix_cache_for

__all__ = ["ContinuationScore", "score_continuations", "score_continuations_uncached", "target_nll"]


@dataclass(frozen=True)
class ContinuationScore:
    """How likely one continuation is after its context.

    Attributes:
        sum_logprob: sum of the natural-log probabilities of its tokens.
        n_tokens: number of continuation tokens.
        is_greedy: every token is the model's argmax at its position (lm-eval's
            ``is_greedy``), i.e. greedy decoding would have produced it.
    """

    sum_logprob: float
    n_tokens: int
    is_greedy: bool

    @property
    def mean_logprob(self) -> float:
        """Length-normalised log-probability, so labels of different lengths compare fairly."""
        return self.sum_logprob / self.n_tokens


@dataclass(frozen=True)
class _Row:
    """One (context, continuation) pair as token ids."""

    context: list[int]
    continuation: list[int]

    @property
    def ids(self) -> list[int]:
        return self.context + self.continuation


def _encode_items(
    tokenizer: PreTrainedTokenizerBase, prefix: str, items: Sequence[tuple[str, Sequence[str]]]
) -> list[list[_Row]]:
    """Token ids of every (instance, continuation), checked for scorability."""
    encoded = []
    for index, (query, continuations) in enumerate(items):
        rows = [_Row(*encode_pair(tokenizer, prefix + query, cont)) for cont in continuations]
        for cont, row in zip(continuations, rows, strict=True):
            if not row.context or not row.continuation:
                raise InstructMTLError(
                    f"items[{index}]: context {query!r} or continuation {cont!r} encodes to no tokens; "
                    "give both a prompt and a non-empty continuation"
                )
        encoded.append(rows)
    return encoded


def _score(logprobs: torch.Tensor, targets: torch.Tensor) -> ContinuationScore:
    """Scores ``targets`` from the log-softmax rows that predict them (``[n, vocab]``)."""
    picked = logprobs.gather(-1, targets[:, None]).squeeze(-1)
    greedy = bool((logprobs.argmax(-1) == targets).all())
    return ContinuationScore(sum_logprob=float(picked.sum()), n_tokens=len(targets), is_greedy=greedy)


def _row_score(logits: torch.Tensor, row: _Row) -> ContinuationScore:
    """Scores ``row``'s continuation from the logits of its whole unpadded sequence.

    ``logits[j]`` predicts token ``j + 1``, so continuation token ``i`` (at
    position ``len(context) + i``) is predicted by ``logits[len(context) + i - 1]``.
    """
    start = len(row.context) - 1
    slice_ = logits[start : start + len(row.continuation)].float().log_softmax(-1)
    return _score(slice_, torch.tensor(row.continuation, device=logits.device))


def _batches(encoded: list[list[_Row]], batch_size: int) -> list[list[int]]:
    """Groups instance indices so each forward has at most ``batch_size`` rows.

    All continuations of an instance go in one batch, so every label of a rank
    classification is scored under identical padding; an instance with more
    labels than ``batch_size`` gets a batch to itself. Longest instances come
    first, as in lm-eval, so padding stays small.
    """
    order = sorted(range(len(encoded)), key=lambda i: -max(len(r.ids) for r in encoded[i]))
    batches: list[list[int]] = []
    rows_in_last = 0
    for index in order:
        n_rows = len(encoded[index])
        if batches and rows_in_last + n_rows <= batch_size:
            batches[-1].append(index)
            rows_in_last += n_rows
        else:
            batches.append([index])
            rows_in_last = n_rows
    return batches


@torch.inference_mode()
def _score_batch(model: PreTrainedModel, cache: PrefixCache, rows: list[_Row]) -> list[ContinuationScore]:
    """Scores rows in one forward that continues from the cached prefix.

    Inputs are each row's ids after the prefix minus the last id, left-padded
    so every continuation ends in the last column; then only the last ``k``
    positions need logits (``k`` = longest continuation), which skips most of
    the output-layer work and memory (the vocabulary projection is a large
    share of a small model's compute).
    """
    device = model.device
    input_ids, mask, positions = left_padded([row.ids[:-1] for row in rows], cache.length, device)
    keep = max(len(row.continuation) for row in rows)
    out = model(
        input_ids=input_ids,
        attention_mask=torch.cat([cache.attention_prefix(len(rows), device), mask], dim=1),
        position_ids=positions,
        cache=cache.for_batch(model, len(rows)),
        use_cache=cache.length > 0,
        logits_to_keep=keep,
    )
    scores = []
    for r, row in enumerate(rows):
        n = len(row.continuation)
        logprobs = out.logits[r, keep - n :].float().log_softmax(-1)
        scores.append(_score(logprobs, torch.tensor(row.continuation, device=device)))
    return scores


def score_continuations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    items: Sequence[tuple[str, Sequence[str]]],
    batch_size: int,
) -> list[list[ContinuationScore]]:
    """Log-likelihood of each continuation after ``prefix + query``, prefix computed once.

    Args:
        model: a causal LM with full attention, in eval mode.
        tokenizer: its tokenizer.
        prefix: text shared by every instance (definition, demonstrations).
        items: per instance, ``(query, continuations)``; the context of a
            continuation is ``prefix + query``.
        batch_size: rows (query + continuation sequences) per forward pass.

    Returns:
        Per instance, one score per continuation, in the order given.

    Raises:
        InstructMTLError: if a context or continuation encodes to no tokens.
    """
    if not items:
        return []
    encoded = _encode_items(tokenizer, prefix, items)
    cache = prefix_cache_for(model, tokenizer, prefix, [row.context for rows in encoded for row in rows])
    results: list[list[ContinuationScore]] = [[] for _ in encoded]
    for batch in _batches(encoded, batch_size):
        scores = iter(_score_batch(model, cache, [row for index in batch for row in encoded[index]]))
        for index in batch:
            results[index] = [next(scores) for _ in encoded[index]]
    return results


@torch.inference_mode()
def score_continuations_uncached(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    items: Sequence[tuple[str, Sequence[str]]],
) -> list[list[ContinuationScore]]:
    """Reference for :func:`score_continuations`: one plain forward per sequence, no cache, no padding.

    Same arguments, tokenization and return value; slow, for tests and checks.
    """
    results = []
    for rows in _encode_items(tokenizer, prefix, items):
        scores = []
        for row in rows:
            input_ids = torch.tensor([row.ids[:-1]], dtype=torch.long, device=model.device)
            scores.append(_row_score(model(input_ids=input_ids).logits[0], row))
        results.append(scores)
    return results


def target_nll(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    items: Sequence[tuple[str, str]],
    batch_size: int,
) -> float:
    """Mean negative log-probability per target token, pooled over instances ("ICL NLL").

    Tokens are pooled (total NLL over total target tokens) rather than averaged
    per instance, which is how the training loss averages, so ICL NLL and
    fine-tuning loss are on the same scale when they are correlated.

    Args:
        items: per instance, ``(query, target)``.
        (others as in :func:`score_continuations`)

    Returns:
        The pooled NLL in nats per token.
    """
    if not items:
        raise InstructMTLError("target_nll: no instances given; pass at least one (query, target) pair")
    scores = score_continuations(model, tokenizer, prefix, [(q, [t]) for q, t in items], batch_size)
    total = sum(s[0].sum_logprob for s in scores)
    return -total / sum(s[0].n_tokens for s in scores)
