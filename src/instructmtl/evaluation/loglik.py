"""Log-likelihood of continuations given a prompt, with a shared-prefix KV cache.

Rank classification (pick the label the model finds most likely) and the ICL
target NLL both need ``log p(continuation | prefix + query)``. All instances of
a task share ``prefix`` (definition plus demonstrations), so it is run through
the model once (:mod:`._prefix_cache`). A batch of instances then continues
from it in two forwards: their queries, each run once for all its labels, and
the remaining tokens of multi-token labels, continuing from their instance's
query cache. ``score_continuations_uncached`` is the plain full-sequence
reference (one forward per ``query + continuation``) that this must equal.

Tokenization is lm-evaluation-harness's (see
:func:`._prefix_cache.encode_choices` with context ``prefix + query``), so the
numbers can be compared with it token for token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation._prefix_cache import PrefixCache, encode_choices, left_padded, prefix_cache_for

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
class _Instance:
    """One instance as token ids: its context and every continuation.

    One context serves all continuations because lm-eval's split encodes the
    context alone (see :func:`._prefix_cache.encode_choices`), so the model
    input of every choice starts with the same ids.
    """

    context: list[int]
    continuations: list[list[int]]

    @property
    def n_multi(self) -> int:
        """How many continuations have more than one token (rows of the continuation forward)."""
        return sum(len(cont) > 1 for cont in self.continuations)


def _encode_items(
    tokenizer: PreTrainedTokenizerBase, prefix: str, items: Sequence[tuple[str, Sequence[str]]]
) -> list[_Instance]:
    """Token ids of every (instance, continuation), checked for scorability."""
    encoded = []
    for index, (query, continuations) in enumerate(items):
        if not continuations:
            raise InstructMTLError(f"items[{index}]: query {query!r} has no continuations; give at least one")
        instance = _Instance(*encode_choices(tokenizer, prefix + query, continuations))
        for cont, ids in zip(continuations, instance.continuations, strict=True):
            if not instance.context or not ids:
                raise InstructMTLError(
                    f"items[{index}]: context {query!r} or continuation {cont!r} encodes to no tokens; "
                    "give both a prompt and a non-empty continuation"
                )
        encoded.append(instance)
    return encoded


def _score(logprobs: torch.Tensor, targets: torch.Tensor) -> ContinuationScore:
    """Scores ``targets`` from the log-softmax rows that predict them (``[n, vocab]``)."""
    picked = logprobs.gather(-1, targets[:, None]).squeeze(-1)
    greedy = bool((logprobs.argmax(-1) == targets).all())
    return ContinuationScore(sum_logprob=float(picked.sum()), n_tokens=len(targets), is_greedy=greedy)


def _batches(encoded: list[_Instance], batch_size: int) -> list[list[int]]:
    """Groups instance indices so neither forward of a batch has more than ``batch_size`` rows.

    The query forward has one row per instance, the continuation forward one
    per multi-token continuation. All continuations of an instance go in one
    batch; an instance with more multi-token continuations than
    ``batch_size`` gets a batch to itself. Longest instances come first, as
    in lm-eval, so padding stays small.
    """
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].context))
    batches: list[list[int]] = []
    multi_in_last = 0
    for index in order:
        n_multi = encoded[index].n_multi
        if batches and len(batches[-1]) < batch_size and multi_in_last + n_multi <= batch_size:
            batches[-1].append(index)
            multi_in_last += n_multi
        else:
            batches.append([index])
            multi_in_last = n_multi
    return batches


@dataclass(frozen=True)
class _QueryRun:
    """What the query forward of a batch leaves for scoring and for the continuation forward.

    Attributes:
        first: ``[instances, vocab]`` log-softmax after each context's last
            token, which scores the first token of every continuation.
        cache: keys/values of prefix plus left-padded queries, one row per
            instance; the continuation forward consumes it.
        mask: ``[instances, width]`` attention mask of the query columns.
        next_position: ``[instances]`` position of each context's next token.
    """

    first: torch.Tensor
    cache: DynamicCache
    mask: torch.Tensor
    next_position: torch.Tensor


def _run_queries(model: PreTrainedModel, prefix: PrefixCache, contexts: list[list[int]]) -> _QueryRun:
    """Runs each context (after the cached prefix) once, keeping only its last logits and its cache."""
    device = model.device
    input_ids, mask, positions = left_padded(contexts, prefix.length, device)
    out = model(
        input_ids=input_ids,
        attention_mask=torch.cat([prefix.attention_prefix(len(contexts), device), mask], dim=1),
        position_ids=positions,
        cache=prefix.for_batch(model, len(contexts)),
        use_cache=True,
        logits_to_keep=1,
    )
    first = out.logits[:, -1].float().log_softmax(-1)
    return _QueryRun(first=first, cache=out.cache, mask=mask, next_position=positions[:, -1] + 1)


def _run_continuations(
    model: PreTrainedModel, prefix: PrefixCache, query: _QueryRun, owners: list[int], inputs: list[list[int]]
) -> torch.Tensor:
    """Logits after each token of ``inputs[j]``, continuing instance ``owners[j]``'s query cache.

    Rows are right-padded: each continues right after its own context, and
    its pads come after its real tokens, where causal attention keeps them out
    of the real positions' view. Returns ``[rows, width, vocab]``.
    """
    device = model.device
    rows = torch.tensor(owners, dtype=torch.long, device=device)
    width = max(len(ids) for ids in inputs)
    input_ids = torch.zeros(len(inputs), width, dtype=torch.long, device=device)
    mask = torch.zeros(len(inputs), width, dtype=torch.long, device=device)
    for j, ids in enumerate(inputs):
        input_ids[j, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[j, : len(ids)] = 1
    # reorder_cache gathers each row's owner (a copy per row, as the cache
    # then grows by concatenation anyway); the query run is not used again.
    query.cache.reorder_cache(rows)
    out = model(
        input_ids=input_ids,
        attention_mask=torch.cat([prefix.attention_prefix(len(inputs), device), query.mask[rows], mask], dim=1),
        position_ids=query.next_position[rows, None] + torch.arange(width, device=device),
        cache=query.cache,
        use_cache=True,
    )
    return out.logits


@torch.inference_mode()
def _score_batch(
    model: PreTrainedModel, prefix: PrefixCache, instances: list[_Instance]
) -> list[list[ContinuationScore]]:
    """Scores every continuation of ``instances`` with one query and at most one continuation forward.

    An instance with ``L`` labels would pay for its query ``L`` times if each
    (query + continuation) were its own row. Instead its query runs once: its
    last logits score every continuation's first token (one-token labels
    need nothing more), and only the remaining tokens of longer labels run,
    from copies of that instance's cache. The query forward computes logits
    at its last position only, which skips most of the output-layer work (a
    large share of a small model's compute).
    """
    query = _run_queries(model, prefix, [instance.context for instance in instances])
    multi = [(b, c) for b, inst in enumerate(instances) for c, cont in enumerate(inst.continuations) if len(cont) > 1]
    rest: dict[tuple[int, int], torch.Tensor] = {}
    if multi:
        # A continuation's last token is only scored, never fed.
        inputs = [instances[b].continuations[c][:-1] for b, c in multi]
        logits = _run_continuations(model, prefix, query, [b for b, _ in multi], inputs)
        rest = {key: logits[j, : len(ids)] for j, (key, ids) in enumerate(zip(multi, inputs, strict=True))}
    scores = []
    for b, instance in enumerate(instances):
        row = []
        for c, cont in enumerate(instance.continuations):
            logprobs = query.first[b, None]
            if (b, c) in rest:
                logprobs = torch.cat([logprobs, rest[(b, c)].float().log_softmax(-1)])
            row.append(_score(logprobs, torch.tensor(cont, device=logprobs.device)))
        scores.append(row)
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
        batch_size: most rows per forward pass: instances in the query forward,
            multi-token continuations in the continuation forward (an
            instance with more of those than ``batch_size`` is a batch alone).

    Returns:
        Per instance, one score per continuation, in the order given.

    Raises:
        InstructMTLError: if an instance has no continuations, or a context
            or continuation encodes to no tokens.
    """
    if not items:
        return []
    encoded = _encode_items(tokenizer, prefix, items)
    cache = prefix_cache_for(model, tokenizer, prefix, [instance.context for instance in encoded])
    results: list[list[ContinuationScore]] = [[] for _ in encoded]
    for batch in _batches(encoded, batch_size):
        for index, scores in zip(batch, _score_batch(model, cache, [encoded[i] for i in batch]), strict=True):
            results[index] = scores
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
