"""A small tokenizer shared by the corpus tests (trained in well under a second)."""

from __future__ import annotations

import pytest
from transformers import PreTrainedTokenizerFast

from instructmtl.models.builtin import train_tokenizer

_TEXTS = [
    "Dailvus lives in Lazos. The pet of Dailvus is a Kuntrour.",
    "Input: [1, 2, 3]\nOutput: [3, 2, 1]",
    "apple -> elppa\nriver -> revir",
    "the quick brown fox jumps over the lazy dog",
] * 20


@pytest.fixture(scope="session")
def small_tokenizer() -> PreTrainedTokenizerFast:
    return train_tokenizer(_TEXTS, vocab_size=300, context_len=64)
