"""Tokenized examples: the end-of-target marker is trained but kept apart from the content tokens."""

from __future__ import annotations

import pytest
import torch

from instructmtl.prompts import TaskPrompter, parse_encoding
from instructmtl.tasks.builtin import build_suite
from instructmtl.tokenized.batches import collate
from instructmtl.tokenized.examples import TrainExample, tokenize_prompt
from instructmtl.training.step import StepStats


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from instructmtl.models import ModelSpec, load_model
    from instructmtl.workflows.pretrain import resolve_base

    return load_model(ModelSpec(name_or_path=str(resolve_base("tiny")), device="cpu")).tokenizer


def test_content_tokens_are_the_target_alone_and_the_rest_is_the_marker(tokenizer) -> None:  # type: ignore[no-untyped-def]
    task = build_suite(4, 8)[0]
    prompt = TaskPrompter(task, parse_encoding("def+pos-2"), 0).encode_all(task.instances[:1])[0]
    example = tokenize_prompt(prompt, task.name, tokenizer, 512)
    content = example.input_ids[example.target_start : example.content_end]
    marker = example.input_ids[example.content_end :]
    assert tokenizer.decode(list(content)) == prompt.target
    assert tokenizer.decode(list(marker)) == "\n" and example.n_marker_tokens == len(marker) >= 1
    assert example.instance_id == task.instances[0].id


def test_collate_marks_marker_labels_and_stats_split_the_loss() -> None:
    short = TrainExample("t", "t", (5, 6, 7, 8), 2, 3, "i0")  # content (7,), marker (8,)
    long = TrainExample("u", "u", (5, 6, 7, 8, 9, 4), 3, 5, "i1")  # content (8, 9), marker (4,)
    batch = collate([short, long], pad_id=0)
    target = batch.labels != -100
    assert batch.marker.tolist() == [[False, False, True], [False, False, True]]
    assert target.tolist() == [[False, True, True], [True, True, True]]
    stats = StepStats()
    nll = torch.tensor([3.0, 6.0])  # per-row sums over every target token
    counts = target.sum(-1)
    marker_nll = torch.tensor([2.0, 1.0])
    stats.record(batch, nll, counts, marker_nll)
    assert stats.task_nll["t"] == [1.0, 1] and stats.task_nll["u"] == [5.0, 2]
    assert stats.marker_loss() == pytest.approx(1.5) and stats.content_loss() == pytest.approx(6.0 / 3)
    assert stats.target_sum() == pytest.approx(9.0) and stats.target_count() == 5
