"""Batch composition: shared properties of every composer, then mixed vs homogeneous."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from instructmtl.mtl import BATCHING, build
from instructmtl.mtl.batching import micro_batch_sizes

PROBS = {"a": 0.5, "b": 0.25, "c": 0.125, "d": 0.125}


@pytest.mark.parametrize("name", BATCHING.names())
@pytest.mark.parametrize(("batch_size", "micro"), [(16, 4), (10, 4), (3, 8), (0, 2)])
def test_micro_batches_cover_the_step(name: str, batch_size: int, micro: int) -> None:
    batches = build(BATCHING, name).compose(PROBS, batch_size, micro, np.random.default_rng(0))
    assert [len(b) for b in batches] == micro_batch_sizes(batch_size, micro)
    assert sum(len(b) for b in batches) == batch_size
    assert all(task in PROBS for b in batches for task in b)


@pytest.mark.parametrize("name", BATCHING.names())
def test_same_seed_same_batches(name: str) -> None:
    composer = build(BATCHING, name)
    first = composer.compose(PROBS, 32, 8, torch.Generator().manual_seed(5))
    assert first == composer.compose(PROBS, 32, 8, torch.Generator().manual_seed(5))
    assert first != composer.compose(PROBS, 32, 8, torch.Generator().manual_seed(6))


@pytest.mark.parametrize("name", BATCHING.names())
def test_each_example_follows_the_sampler_probabilities(name: str) -> None:
    composer, rng, counts = build(BATCHING, name), np.random.default_rng(1), Counter[str]()
    for _ in range(2000):
        counts.update(task for b in composer.compose(PROBS, 12, 4, rng) for task in b)
    total = sum(counts.values())
    for task, p in PROBS.items():
        assert counts[task] / total == pytest.approx(p, abs=0.02)


def test_homogeneous_micro_batches_hold_one_task() -> None:
    batches = build(BATCHING, "homogeneous").compose(PROBS, 64, 8, np.random.default_rng(2))
    assert all(len(set(b)) == 1 for b in batches)
    assert len({b[0] for b in batches}) > 1  # but different micro-batches differ


def test_mixed_micro_batches_mix_tasks() -> None:
    batches = build(BATCHING, "mixed").compose(PROBS, 64, 8, np.random.default_rng(2))
    assert any(len(set(b)) > 1 for b in batches)


def test_micro_batch_sizes_rejects_nonsense() -> None:
    assert micro_batch_sizes(10, 4) == [4, 4, 2]
    with pytest.raises(ValueError, match="micro_batch_size >= 1, got 4, 0"):
        micro_batch_sizes(4, 0)
    with pytest.raises(ValueError, match="need batch_size >= 0 and micro_batch_size >= 1, got -1, 2"):
        micro_batch_sizes(-1, 2)
