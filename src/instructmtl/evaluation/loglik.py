"""Log-likelihood of continuations given a prompt, with a shared-prefix KV cache.

Rank classification (pick the label the model finds most likely) and the ICL
target NLL both need ``log p(continuation | prefix + query)``. All instances of
a task share ``prefix`` (definition plus demonstrations), so it is run through
the model once (:mod:`._prefix_cache`). Everything after it runs *packed*
(:mod:`._packing`): each instance's query once, followed by the fed tokens of
its multi-token labels, several instances side by side in a row, with a 4-D
attention mask that lets every token see the prefix and only its own
sequence. No token is computed twice, and a few forwards score a whole task;
how many instances share a row is chosen for the least estimated cost
(:class:`._packing.CostModel`). ``score_continuations_uncached`` is the plain full-sequence
reference (one forward per ``query + continuation``) that this must equal.

Tokenization is lm-evaluation-harness's (see
:func:`instructmtl.tokenized.encode.encode_many_choices`, context ``prefix + query``), so
the numbers can be compared with it token for token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation._packing import CostModel, Instance, PackedBatch, pack_rows, packed_batch
from instructmtl.evaluation._prefix_cache import PrefixCache, prefix_cache_for
from instructmtl.tokenized.encode import encode_many_choices

__all__ = ["ContinuationScore", "score_continuations", "score_continuations_uncached", "target_nll"]

#: Attention implementations of transformers that apply an additive 4-D mask as given.
MASKED_ATTENTION = frozenset({"sdpa", "eager"})


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


def _encode_items(
    tokenizer: PreTrainedTokenizerBase, prefix: str, items: Sequence[tuple[str, Sequence[str]]]
) -> list[Instance]:
    """Token ids of every (instance, continuation), checked for scorability, in one tokenizer call."""
    for index, (query, continuations) in enumerate(items):
        if not continuations:
            raise InstructMTLError(f"items[{index}]: query {query!r} has no continuations; give at least one")
    encoded = encode_many_choices(tokenizer, [(prefix + query, conts) for query, conts in items])
    instances = []
    for index, ((query, continuations), (context, ids)) in enumerate(zip(items, encoded, strict=True)):
        for cont, cont_ids in zip(continuations, ids, strict=True):
            if not context or not cont_ids:
                raise InstructMTLError(
                    f"items[{index}]: context {query!r} or continuation {cont!r} encodes to no tokens; "
                    "give both a prompt and a non-empty continuation"
                )
        instances.append(Instance(context, ids))
    return instances


def _score(logprobs: torch.Tensor, targets: torch.Tensor) -> ContinuationScore:
    """Scores ``targets`` from the log-softmax rows that predict them (``[n, vocab]``)."""
    picked = logprobs.gather(-1, targets[:, None]).squeeze(-1)
    greedy = bool((logprobs.argmax(-1) == targets).all())
    return ContinuationScore(sum_logprob=float(picked.sum()), n_tokens=len(targets), is_greedy=greedy)


@torch.inference_mode()
def _score_packed(model: PreTrainedModel, prefix: PrefixCache, batch: PackedBatch) -> list[tuple[float, bool]]:
    """``(sum_logprob, is_greedy)`` of every continuation of ``batch``, in its scoring order.

    Logits are computed only where a continuation token is predicted, and the
    log-softmax of each such position is its logit minus one log-sum-exp over
    the vocabulary, gathered for all continuations at once.
    """
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask(prefix.length, model.dtype),
        position_ids=batch.position_ids,
        cache=prefix.for_batch(model, batch.rows),
        use_cache=True,
        logits_to_keep=batch.keep,
    )
    logits = out.logits.float()  # [kept positions, vocab], row-major over the batch
    device = logits.device
    position, target, owner = batch.score_position, batch.score_target, batch.score_owner
    picked = logits[position, target] - logits.logsumexp(-1)[position]
    missed = (logits.argmax(-1)[position] != target).to(torch.long)
    sums = torch.zeros(batch.n_scored, dtype=logits.dtype, device=device).index_add_(0, owner, picked)
    misses = torch.zeros(batch.n_scored, dtype=torch.long, device=device).index_add_(0, owner, missed)
    return [(s, m == 0) for s, m in zip(sums.tolist(), misses.tolist(), strict=True)]


def score_continuations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    items: Sequence[tuple[str, Sequence[str]]],
    batch_size: int,
) -> list[list[ContinuationScore]]:
    """Log-likelihood of each continuation after ``prefix + query``, prefix computed once.

    Args:
        model: a causal LM with full attention, in eval mode, whose attention
            takes an explicit 4-D mask (``sdpa`` or ``eager``).
        tokenizer: its tokenizer.
        prefix: text shared by every instance (definition, demonstrations).
        items: per instance, ``(query, continuations)``; the context of a
            continuation is ``prefix + query``.
        batch_size: most rows per forward pass; a row packs the queries and
            fed label tokens of one or more instances.

    Returns:
        Per instance, one score per continuation, in the order given.

    Raises:
        InstructMTLError: if an instance has no continuations, a context or
            continuation encodes to no tokens, or the model's attention
            cannot take a 4-D mask.
    """
    if not items:
        return []
    attention = model.config._attn_implementation
    if attention not in MASKED_ATTENTION:
        raise InstructMTLError(
            f"score_continuations: the model's attention is {attention!r}, which cannot take the packed rows' "
            f"4-D mask; load it with attn_implementation in {sorted(MASKED_ATTENTION)}"
        )
    encoded = _encode_items(tokenizer, prefix, items)
    cache = prefix_cache_for(model, tokenizer, prefix, [instance.context for instance in encoded])
    results: list[list[ContinuationScore]] = [[] for _ in encoded]
    for rows in pack_rows(encoded, cache.length, batch_size, CostModel.of(model)):
        batch = packed_batch(encoded, rows, cache.length, model.device)
        scores = iter(_score_packed(model, cache, batch))
        for index in batch.instances:
            results[index] = [
                ContinuationScore(sum_logprob=total, n_tokens=len(cont), is_greedy=greedy)
                for cont in encoded[index].continuations
                for total, greedy in [next(scores)]
            ]
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
    for instance in _encode_items(tokenizer, prefix, items):
        scores = []
        for cont in instance.continuations:
            input_ids = torch.tensor([(instance.context + cont)[:-1]], dtype=torch.long, device=model.device)
            # logits[j] predicts token j + 1: continuation token i sits at len(context) + i.
            logits = model(input_ids=input_ids).logits[0, len(instance.context) - 1 :]
            scores.append(_score(logits.float().log_softmax(-1), torch.tensor(cont, device=model.device)))
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
