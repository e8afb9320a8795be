"""Shared fixtures: seeded RNGs, a private cache dir, and the real SNI subset."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    """One torch thread for the whole suite: its models are tiny, and on the shared 2-core machine two
    OpenMP threads on tiny ops wait on each other (measured up to 100x slower: 98 s against 0.8 s).
    Tests that need other settings run them in subprocesses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Every test starts from the same RNG state, so recorded values are stable."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests from reading or writing the user's cache."""
    monkeypatch.setenv("INSTRUCTMTL_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def sni_dir() -> Path:
    """The real truncated SNI subset.

    CI sets ``INSTRUCTMTL_SNI_DIR``; then a missing folder is a failure, not a
    skip, so the real-data tests cannot silently disappear. Without the
    variable, the sibling ``../shared/data/sni`` is used when present.
    """
    configured = os.environ.get("INSTRUCTMTL_SNI_DIR")
    if configured:
        path = Path(configured)
        assert (path / "tasks").is_dir(), f"INSTRUCTMTL_SNI_DIR={configured} has no tasks/ folder"
        return path
    sibling = REPO_ROOT.parent / "shared" / "data" / "sni"
    if not sibling.is_dir():
        pytest.skip("real SNI subset not found; set INSTRUCTMTL_SNI_DIR")
    return sibling


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama + byte-level BPE trained on the built-in suite's text (HF directory)."""
    from fixtures.tiny_lm import build_tiny_lm
    from instructmtl.tasks.builtin import build_suite

    texts = []
    for task in build_suite(n_instances=20):
        texts.append(task.definition)
        texts.extend(f"{i.input} {' '.join(i.outputs)}" for i in task.instances)
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"), texts)
