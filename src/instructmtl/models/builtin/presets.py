"""Llama-style model sizes for the built-in base model, with the training budget that suits each.

A preset is data (registered by name in :mod:`instructmtl.models.builtin`):
the architecture, the tokenizer's vocabulary size, and the optimisation
hyperparameters that were found to work at that size. Everything in it
enters the cache key of a pretrained base, so editing a preset retrains.

Sizes were chosen by throughput on a 2-core CPU (see ``bench/pretrain_tiny.py``):
the output layer costs ``2 * vocab * hidden`` FLOPs per token, so small
presets keep the vocabulary small; four layers rather than two because
recognising a task from demonstrations needs an induction circuit (two
layers) plus layers that compute the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import LlamaConfig

Precision = Literal["bf16", "fp32"]


@dataclass(frozen=True)
class Preset:
    """One model size and its pretraining budget.

    Attributes:
        name: the registered name.
        vocab_size: BPE vocabulary size, special tokens included.
        hidden_size: model width.
        num_layers: transformer blocks.
        num_heads: attention heads (``hidden_size`` must divide by it).
        intermediate_size: width of the SwiGLU MLP.
        context_len: tokens per training block and the model's position limit.
        batch_size: blocks per optimiser step.
        steps: optimiser steps of a default run.
        lr: peak learning rate (AdamW).
        warmup_steps: linear warm-up before the cosine decay.
        min_lr_ratio: the cosine decays to ``lr * min_lr_ratio``.
        weight_decay: AdamW decay, applied to matrices only.
        precision: ``bf16`` autocast (CPU bf16 matmuls are several times faster) or ``fp32``.
        tokenizer_documents: corpus documents the BPE tokenizer is trained on.
    """

    name: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    context_len: int
    batch_size: int
    steps: int
    lr: float
    warmup_steps: int
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    precision: Precision = "bf16"
    tokenizer_documents: int = 20_000

    def llama_config(self, bos_token_id: int, eos_token_id: int, pad_token_id: int) -> LlamaConfig:
        """The ``transformers`` config of a model of this size (tied input/output embeddings)."""
        return LlamaConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            num_key_value_heads=self.num_heads,
            max_position_embeddings=self.context_len,
            tie_word_embeddings=True,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id,
        )


#: For tests: trains in seconds, learns nothing useful. fp32 because at width 64 bf16 casts cost more than they save.
MICRO = Preset(
    name="micro",
    vocab_size=384,
    hidden_size=64,
    num_layers=2,
    num_heads=4,
    intermediate_size=192,
    context_len=128,
    batch_size=8,
    steps=60,
    lr=3e-3,
    warmup_steps=10,
    precision="fp32",
    tokenizer_documents=2_000,
)
#: The CPU default (shipped pretrained in ``instructmtl/assets/base-tiny``): 1.2M parameters, 12.3M
#: training tokens (about 35 minutes on one core). Width 128 rather than 192: at 6M tokens both reached
#: the same loss and ICL curve, and the narrower model makes every later stage of the default study twice
#: as fast. 3000 rather than 1500 steps: the held-out ICL curve kept improving (k=4 loss 2.03 → 1.85) and
#: word sentiment went from chance to learnt.
TINY = Preset(
    name="tiny",
    vocab_size=1024,
    hidden_size=128,
    num_layers=4,
    num_heads=4,
    intermediate_size=512,
    context_len=512,
    batch_size=8,
    steps=3000,
    lr=1e-3,
    warmup_steps=100,
)
#: For a GPU: tens of millions of parameters.
SMALL = Preset(
    name="small",
    vocab_size=4096,
    hidden_size=512,
    num_layers=8,
    num_heads=8,
    intermediate_size=1536,
    context_len=1024,
    batch_size=32,
    steps=20_000,
    lr=6e-4,
    warmup_steps=500,
)
