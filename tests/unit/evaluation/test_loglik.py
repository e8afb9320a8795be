"""The shared-prefix log-likelihood scorer equals the plain full-sequence computation.

The scorer packs each query, once for all its labels, and the fed tokens of
multi-token labels into shared rows after the cached prefix; the tests mix
label lengths, query lengths, batch sizes, row layouts (one row for all
instances, one padded row each) and contexts whose last token merges with a
label's first characters, and check that against one plain forward per
(query + label).
"""

from __future__ import annotations

import math

import pytest
import torch

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation import loglik
from instructmtl.evaluation._prefix_cache import compute_prefix_cache, shared_length
from instructmtl.evaluation.loglik import score_continuations, score_continuations_uncached, target_nll
from instructmtl.tokenized.encode import encode, encode_choices, encode_pair

PREFIXES = [
    "Definition: answer the question about the animal.\n\nPositive example 1 -\n\nInput: The cat sat.\nOutput: cat\n\n",
    "Definition: say yes or no.",  # boundary inside a word-run: "no." + "Input" may merge differently
    "",  # no shared prefix at all: no cache
]
ITEMS = [
    ("Input: The dog ran in the park.\nOutput:", [" dog", " cat", " a bird sang in the tree"]),
    ("Input: red\nOutput:", [" yes", " no"]),
    ("Now complete the following example -\nInput: one two three four five\nOutput: ", ["no", "yes", "maybe not"]),
    ("Input: A bird!\nOutput:", [" bird"]),
]


def _assert_close(cached, reference) -> None:
    assert [len(s) for s in cached] == [len(s) for s in reference]
    for got_row, want_row in zip(cached, reference, strict=True):
        for got, want in zip(got_row, want_row, strict=True):
            assert got.n_tokens == want.n_tokens
            assert got.sum_logprob == pytest.approx(want.sum_logprob, abs=1e-4)
            assert got.is_greedy == want.is_greedy


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_cached_equals_uncached(model, tokenizer, prefix, batch_size) -> None:
    cached = score_continuations(model, tokenizer, prefix, ITEMS, batch_size=batch_size)
    _assert_close(cached, score_continuations_uncached(model, tokenizer, prefix, ITEMS))


def test_labels_of_different_lengths_share_a_batch(model, tokenizer) -> None:
    items = [ITEMS[0]]
    lengths = [len(encode_pair(tokenizer, PREFIXES[0] + items[0][0], c)[1]) for c in items[0][1]]
    assert len(set(lengths)) > 1, "the test needs labels of different token lengths"
    cached = score_continuations(model, tokenizer, PREFIXES[0], items, batch_size=8)
    _assert_close(cached, score_continuations_uncached(model, tokenizer, PREFIXES[0], items))
    # Log-probabilities are far apart between labels, so a mix-up of rows would fail above.
    sums = [s.sum_logprob for s in cached[0]]
    assert len({round(x, 2) for x in sums}) == len(sums)


#: Labels of 1, 2 and 4 tokens (in the test tokenizer) for instances with queries of different lengths.
MIXED_ITEMS = [
    ("Input: The dog ran.\nOutput:", [" dog", " the cat", " The cat sat"]),
    ("Now complete the following example -\nInput: one two three four five\nOutput:", [" sat on the", " cat", " red"]),
    ("Input: A bird!\nOutput:", [" the cat", " bird"]),
]


def _forward_shapes(model) -> tuple[list[tuple[int, int]], object]:
    """Records ``(rows, width)`` of every forward of ``model``; returns the list and the hook handle."""
    shapes: list[tuple[int, int]] = []
    handle = model.register_forward_pre_hook(
        lambda _module, _args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    return shapes, handle


def _use_layout(monkeypatch, forwards: list[list[list[int]]]) -> None:
    """Makes the scorer pack instances as ``forwards`` (per forward, rows of instance indices)."""
    monkeypatch.setattr(loglik, "pack_rows", lambda instances, start, batch_size, cost: forwards)


@pytest.mark.parametrize("batch_size", [1, 2, 16])
def test_labels_of_one_two_and_four_tokens_and_queries_of_different_lengths(model, tokenizer, batch_size) -> None:
    prefix = PREFIXES[0]
    encoded = [encode_choices(tokenizer, prefix + query, conts) for query, conts in MIXED_ITEMS]
    assert sorted({len(c) for c in encoded[0][1]}) == [1, 2, 4]
    assert len({len(context) for context, _ in encoded}) == len(MIXED_ITEMS), "queries must differ in length"
    cached = score_continuations(model, tokenizer, prefix, MIXED_ITEMS, batch_size=batch_size)
    reference = score_continuations_uncached(model, tokenizer, prefix, MIXED_ITEMS)
    _assert_close(cached, reference)
    # " the cat" is a label of two instances: its score depends on which query it follows.
    assert abs(cached[0][1].sum_logprob - cached[2][0].sum_logprob) > 1e-2


def test_merged_boundary_scores_lm_evals_input(model, tokenizer) -> None:
    """A context whose last token merges with a label's first characters in the joined string.

    lm-eval still feeds ``encode(context) + encode(context + label)[len(encode(context)):]``;
    that input is computed here by hand and scored with one plain forward.
    """
    prefix = PREFIXES[0]
    items = [
        ("Input: The ca", ["t sat.", " dog", "t sat on the mat."]),
        ("Input: The dog ran.\nOutput: d", ["og ran", " cat"]),
    ]
    expected = []
    for query, conts in items:
        context = encode(tokenizer, (prefix + query).rstrip())
        row = []
        for cont in conts:
            whole = encode(tokenizer, prefix + query + cont)
            ids = context + whole[len(context) :]
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids[:-1]])).logits[0, len(context) - 1 :]
            logprobs = logits.log_softmax(-1)
            targets = torch.tensor(whole[len(context) :])
            row.append((float(logprobs.gather(-1, targets[:, None]).sum()), len(targets)))
        expected.append(row)
    merged = [
        encode(tokenizer, prefix + q + c)[: len(encode(tokenizer, prefix + q))] != encode(tokenizer, prefix + q)
        for q, conts in items
        for c in conts
    ]
    assert merged == [True, False, True, True, False], "the test needs merged and plain boundaries"
    for batch_size in (1, 4):
        got = score_continuations(model, tokenizer, prefix, items, batch_size=batch_size)
        assert [[s.n_tokens for s in row] for row in got] == [[n for _, n in row] for row in expected]
        for got_row, want_row in zip(got, expected, strict=True):
            for score, (want, _) in zip(got_row, want_row, strict=True):
                assert score.sum_logprob == pytest.approx(want, abs=1e-4)


def test_each_query_and_fed_label_token_runs_once(model, tokenizer, monkeypatch) -> None:
    """One packed row holds every query once plus the fed tokens of multi-token labels, nothing else."""
    _use_layout(monkeypatch, [[[0, 1, 2]]])
    prefix = PREFIXES[0]
    single = [(query, [" dog", " cat", " bird"]) for query, _ in MIXED_ITEMS]
    cached = shared_length(encode(tokenizer, prefix), [encode(tokenizer, prefix + q) for q, _ in MIXED_ITEMS])
    queries = sum(len(encode(tokenizer, prefix + q)) - cached for q, _ in MIXED_ITEMS)
    shapes, handle = _forward_shapes(model)
    score_continuations(model, tokenizer, prefix, single, batch_size=16)
    assert shapes == [(1, cached), (1, queries)]  # the prefix, then the queries of all instances
    shapes.clear()
    score_continuations(model, tokenizer, prefix, MIXED_ITEMS, batch_size=16)
    handle.remove()
    fed = sum(len(c) - 1 for q, conts in MIXED_ITEMS for c in encode_choices(tokenizer, prefix + q, conts)[1])
    assert fed > 0
    assert shapes == [(1, cached), (1, queries + fed)]


#: Row layouts of the three MIXED_ITEMS: one row; padded rows of one instance; two forwards, one with a shared row.
LAYOUTS = [[[[0, 1, 2]]], [[[1], [0], [2]]], [[[2, 0]], [[1]]], [[[1], [2, 0]]]]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_row_layout_equals_the_reference(model, tokenizer, monkeypatch, prefix, layout) -> None:
    _use_layout(monkeypatch, layout)
    shapes, handle = _forward_shapes(model)
    cached = score_continuations(model, tokenizer, prefix, MIXED_ITEMS, batch_size=16)
    handle.remove()
    assert [rows for rows, _ in (shapes[1:] if prefix else shapes)] == [len(forward) for forward in layout]
    _assert_close(cached, score_continuations_uncached(model, tokenizer, prefix, MIXED_ITEMS))


def test_no_forward_exceeds_batch_size(model, tokenizer) -> None:
    items = ITEMS + MIXED_ITEMS
    shapes, handle = _forward_shapes(model)
    cached = score_continuations(model, tokenizer, PREFIXES[0], items, batch_size=1)
    handle.remove()
    assert all(rows == 1 for rows, _ in shapes)
    _assert_close(cached, score_continuations_uncached(model, tokenizer, PREFIXES[0], items))


def test_attention_without_a_4d_mask_is_an_error(model, tokenizer, monkeypatch) -> None:
    monkeypatch.setattr(model.config, "_attn_implementation", "flash_attention_2")
    with pytest.raises(InstructMTLError, match="flash_attention_2"):
        score_continuations(model, tokenizer, PREFIXES[0], ITEMS, batch_size=2)


def test_instance_without_continuations_is_an_error(model, tokenizer) -> None:
    with pytest.raises(InstructMTLError, match=r"items\[1\].*no continuations"):
        score_continuations(model, tokenizer, PREFIXES[0], [ITEMS[0], ("Input: x\nOutput:", [])], batch_size=2)


def test_scores_differ_from_a_shifted_computation(model, tokenizer) -> None:
    """Guards the 1e-4 tolerance: scoring one token later changes the value by much more."""
    prefix, (query, conts) = PREFIXES[0], ITEMS[1]
    exact = score_continuations(model, tokenizer, prefix, [(query, conts)], batch_size=2)[0][0].sum_logprob
    shifted = score_continuations(model, tokenizer, prefix + " ", [(query, conts)], batch_size=2)[0][0].sum_logprob
    assert abs(exact - shifted) > 1e-2


def test_instance_with_more_labels_than_batch_size(model, tokenizer) -> None:
    cached = score_continuations(model, tokenizer, PREFIXES[0], ITEMS, batch_size=2)
    _assert_close(cached, score_continuations_uncached(model, tokenizer, PREFIXES[0], ITEMS))


def test_mean_logprob_is_length_normalised(model, tokenizer) -> None:
    score = score_continuations(model, tokenizer, PREFIXES[1], [ITEMS[0]], batch_size=4)[0][2]
    assert score.n_tokens > 1
    assert score.mean_logprob == pytest.approx(score.sum_logprob / score.n_tokens)


def test_is_greedy_on_a_model_with_uniform_predictions(model, tokenizer) -> None:
    """With zero final-norm weights every logit is 0, so the argmax is token 0 (torch picks the first)."""
    with torch.no_grad():
        model.model.norm.weight.zero_()
    greedy_text = tokenizer.decode([0, 0])
    other_text = tokenizer.decode([0, 1])
    query = "Input: red\nOutput:"
    assert encode_pair(tokenizer, PREFIXES[1] + query, greedy_text)[1] == [0, 0]
    assert encode_pair(tokenizer, PREFIXES[1] + query, other_text)[1] == [0, 1]
    greedy, other = score_continuations(model, tokenizer, PREFIXES[1], [(query, [greedy_text, other_text])], 4)[0]
    assert greedy.is_greedy and not other.is_greedy
    assert greedy.sum_logprob == pytest.approx(-2 * math.log(len(tokenizer)), abs=1e-4)


def test_is_greedy_matches_argmax_of_the_logits(model, tokenizer) -> None:
    """A token made the argmax (its output row is twice the old winner's) is greedy; another is not."""
    prefix, query = PREFIXES[0], ITEMS[0][0]
    context = encode(tokenizer, (prefix + query).rstrip())
    logits = model(input_ids=torch.tensor([context])).logits[0, -1]
    top = int(logits.argmax())
    assert logits[top] > 0
    (boosted,) = encode_pair(tokenizer, prefix + query, " dog")[1]
    with torch.no_grad():
        model.lm_head.weight[boosted] = 2 * model.lm_head.weight[top]
    conts = [" dog", " cat"]
    assert len(encode_pair(tokenizer, prefix + query, " cat")[1]) == 1
    greedy, runner_up = score_continuations(model, tokenizer, prefix, [(query, conts)], batch_size=2)[0]
    assert greedy.is_greedy and not runner_up.is_greedy
    assert greedy.sum_logprob > runner_up.sum_logprob


def test_tokenization_follows_lm_eval(tokenizer) -> None:
    """Trailing context whitespace moves into the continuation; ids come from the joined string."""
    ctx, cont = encode_pair(tokenizer, "Output: ", "dog")
    assert (ctx, cont) == encode_pair(tokenizer, "Output:", " dog")
    whole = encode(tokenizer, "Output: dog")
    assert ctx + cont == whole
    assert ctx == encode(tokenizer, "Output:")


def test_shared_length_stops_at_the_first_difference() -> None:
    assert shared_length([1, 2, 3, 4], [[1, 2, 3, 4, 5], [1, 2, 9, 4, 5]]) == 2
    # One token of the shortest context must stay out of the cache.
    assert shared_length([1, 2, 3], [[1, 2, 3]]) == 2
    assert shared_length([], [[1, 2]]) == 0


def test_prefix_cache_is_not_mutated_by_scoring(model, tokenizer) -> None:
    ids = encode(tokenizer, PREFIXES[0])
    cache = compute_prefix_cache(model, ids)
    before = [(k.clone(), v.clone()) for k, v in cache.layers]
    batch = cache.for_batch(model, 3)
    model(
        input_ids=torch.tensor([[5, 6]] * 3),
        attention_mask=torch.ones(3, cache.length + 2, dtype=torch.long),
        position_ids=torch.arange(cache.length, cache.length + 2).expand(3, -1),
        cache=batch,
        use_cache=True,
    )
    assert batch.get_seq_length() == cache.length + 2
    for (k, v), (k0, v0) in zip(cache.layers, before, strict=True):
        assert k.shape[-2] == len(ids)
        assert torch.equal(k, k0) and torch.equal(v, v0)


def test_target_nll_pools_tokens(model, tokenizer) -> None:
    items = [("Input: red\nOutput:", " yes"), ("Input: The dog ran.\nOutput:", " a dog ran in the park")]
    ref = score_continuations_uncached(model, tokenizer, PREFIXES[0], [(q, [t]) for q, t in items])
    want = -sum(s[0].sum_logprob for s in ref) / sum(s[0].n_tokens for s in ref)
    assert target_nll(model, tokenizer, PREFIXES[0], items, batch_size=2) == pytest.approx(want, abs=1e-5)
    per_instance_mean = -sum(s[0].mean_logprob for s in ref) / len(ref)
    assert abs(want - per_instance_mean) > 1e-3  # the pooling choice is visible


def test_empty_continuation_is_an_error(model, tokenizer) -> None:
    with pytest.raises(InstructMTLError, match=r"items\[0\]"):
        score_continuations(model, tokenizer, PREFIXES[0], [("Input: x\nOutput:", [""])], batch_size=2)
