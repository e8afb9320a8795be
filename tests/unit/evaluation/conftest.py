"""A tiny random Llama and a byte-level BPE tokenizer built locally, for the scorer tests.

The tokenizer is byte-level BPE like SmolLM2's, so token boundaries move
when strings are joined (``"x\\n\\n"`` vs ``"x\\n\\nInput"``), which is the
case the shared-prefix cache must get right.
"""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

_CORPUS = [
    "Definition: answer the question about the animal.",
    "Input: The cat sat on the mat.\nOutput: cat",
    "Input: The dog ran in the park.\nOutput: dog",
    "Input: A bird sang in the tree!\nOutput: bird",
    "Positive example 1 -\n\nInput: red green blue\nOutput: yes\n\n",
    "Now complete the following example -\nInput: one two three\nOutput: no\n\n",
]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on a few sentences; EOS and PAD are added last, so id 0 is a plain byte."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=330, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(_CORPUS, trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok)
    wrapped.add_special_tokens({"eos_token": "<eos>", "pad_token": "<pad>"})
    return wrapped


@pytest.fixture
def model(tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    """A 2-layer random Llama in fp32 with grouped-query attention and untied output weights.

    ``initializer_range`` is large so that log-probabilities differ clearly
    between positions: an off-by-one in the scorer then shows far above 1e-4.
    """
    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        initializer_range=0.2,
        tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config).eval()
