"""Tiny causal LMs on disk for the model tests: an HF directory and a GGUF file.

Both are built here from a config and random weights (no download), small
enough that loading takes well under a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

TINY_SPECIALS = ["<unk>", "<s>", "</s>"]
TINY_WORDS = [f"w{i}" for i in range(93)]
TINY_VOCAB = len(TINY_SPECIALS) + len(TINY_WORDS)
TINY_HIDDEN, TINY_LAYERS, TINY_FFN, TINY_HEADS, TINY_KV_HEADS = 32, 2, 64, 4, 2


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer with unk/bos/eos but deliberately no pad token."""
    vocab = {token: i for i, token in enumerate(TINY_SPECIALS + TINY_WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def tiny_llama() -> LlamaForCausalLM:
    """A 2-layer Llama with tied embeddings, like SmolLM2 but ~30k parameters."""
    config = LlamaConfig(
        vocab_size=TINY_VOCAB,
        hidden_size=TINY_HIDDEN,
        intermediate_size=TINY_FFN,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=TINY_HEADS,
        num_key_value_heads=TINY_KV_HEADS,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """An ordinary HF model directory (safetensors) with its tokenizer."""
    path = tmp_path / "tiny-llama"
    tiny_llama().save_pretrained(path)
    tiny_tokenizer().save_pretrained(path)
    return path


@pytest.fixture
def tiny_tokenizer_dir(tmp_path: Path) -> Path:
    """A folder holding only the tiny tokenizer (for ``ModelSpec.tokenizer``)."""
    path = tmp_path / "tiny-tokenizer"
    tiny_tokenizer().save_pretrained(path)
    return path


@pytest.fixture
def tiny_gguf_file(tmp_path: Path) -> Path:
    """A tiny Llama GGUF with Q4_1 matrices and no output.weight (tied), like SmolLM2's file."""
    path = tmp_path / "tiny.Q4_1.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_block_count(TINY_LAYERS)
    writer.add_feed_forward_length(TINY_FFN)
    writer.add_embedding_length(TINY_HIDDEN)
    writer.add_rope_dimension_count(TINY_HIDDEN // TINY_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_head_count(TINY_HEADS)
    writer.add_head_count_kv(TINY_KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(TINY_VOCAB)
    rng = np.random.default_rng(0)
    kv_width = TINY_HIDDEN // TINY_HEADS * TINY_KV_HEADS
    shapes = {"token_embd.weight": (TINY_VOCAB, TINY_HIDDEN), "output_norm.weight": (TINY_HIDDEN,)}
    for i in range(TINY_LAYERS):
        shapes |= {
            f"blk.{i}.attn_norm.weight": (TINY_HIDDEN,),
            f"blk.{i}.ffn_norm.weight": (TINY_HIDDEN,),
            f"blk.{i}.attn_q.weight": (TINY_HIDDEN, TINY_HIDDEN),
            f"blk.{i}.attn_k.weight": (kv_width, TINY_HIDDEN),
            f"blk.{i}.attn_v.weight": (kv_width, TINY_HIDDEN),
            f"blk.{i}.attn_output.weight": (TINY_HIDDEN, TINY_HIDDEN),
            f"blk.{i}.ffn_gate.weight": (TINY_FFN, TINY_HIDDEN),
            f"blk.{i}.ffn_up.weight": (TINY_FFN, TINY_HIDDEN),
            f"blk.{i}.ffn_down.weight": (TINY_HIDDEN, TINY_FFN),
        }
    for name, shape in shapes.items():
        if len(shape) == 1:  # norms stay float32, as in real GGUF files
            writer.add_tensor(name, np.ones(shape, dtype=np.float32))
            continue
        blocks = quantize((rng.standard_normal(shape) * 0.1).astype(np.float32), GGMLQuantizationType.Q4_1)
        writer.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=GGMLQuantizationType.Q4_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
