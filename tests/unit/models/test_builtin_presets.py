"""Presets build the model they describe; the recipe key changes exactly when the model would."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from instructmtl.corpus import BuiltinCorpusConfig
from instructmtl.errors import UnknownNameError
from instructmtl.models.builtin import MICRO, PRESETS, PretrainRecipe, build_model, recipe_key, train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["a b c -> c b a", "Lazos is in Mousgal."] * 20
    return train_tokenizer(texts, vocab_size=MICRO.vocab_size, context_len=128)


def test_presets_are_registered_and_consistent():
    assert PRESETS.names() == ["micro", "small", "tiny"]
    for name in PRESETS:
        preset = PRESETS.get(name)
        assert preset.name == name
        assert preset.hidden_size % preset.num_heads == 0
        assert preset.warmup_steps < preset.steps
    with pytest.raises(UnknownNameError, match="tiny"):
        PRESETS.get("tine")


def test_sizes_grow_from_micro_to_small():
    def n_params(p):
        emb = p.vocab_size * p.hidden_size
        return emb + p.num_layers * (4 * p.hidden_size**2 + 3 * p.hidden_size * p.intermediate_size)

    assert n_params(PRESETS.get("micro")) < n_params(PRESETS.get("tiny")) < 5e6 < 1e7 < n_params(PRESETS.get("small"))


def test_build_model_matches_the_preset_and_is_seeded_without_touching_global_rng(tokenizer):
    state = torch.random.get_rng_state()
    a = build_model(MICRO, tokenizer, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = build_model(MICRO, tokenizer, seed=3)
    c = build_model(MICRO, tokenizer, seed=4)
    cfg = a.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size) == (64, 2, MICRO.vocab_size)
    assert cfg.eos_token_id == tokenizer.eos_token_id and cfg.tie_word_embeddings
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_recipe_key_tracks_everything_that_shapes_the_model():
    tiny = PRESETS.get("tiny")
    base = recipe_key(PretrainRecipe(), tiny)
    assert base == recipe_key(PretrainRecipe(), tiny)
    # the preset's defaults and the same values spelled out are one model
    assert base == recipe_key(PretrainRecipe(steps=tiny.steps, precision=tiny.precision), tiny)
    variants = [
        recipe_key(PretrainRecipe(seed=1), tiny),
        recipe_key(PretrainRecipe(steps=tiny.steps + 1), tiny),
        recipe_key(PretrainRecipe(precision="fp32" if tiny.precision == "bf16" else "bf16"), tiny),
        recipe_key(PretrainRecipe(corpus=BuiltinCorpusConfig(lookup_weight=0.5)), tiny),
        recipe_key(PretrainRecipe(), dataclasses.replace(tiny, lr=tiny.lr * 2)),
    ]
    assert len({base, *variants}) == 1 + len(variants)
