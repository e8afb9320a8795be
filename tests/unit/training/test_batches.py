"""Left-padded micro-batches give each row exactly the loss it has alone; length grouping keeps padding low."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from instructmtl.training.batches import collate, length_grouped, per_example_nll
from instructmtl.training.examples import TrainExample


def example(ids: list[int], target: int, task: str = "t") -> TrainExample:
    return TrainExample(task, task, tuple(ids), len(ids) - target)


def test_left_padded_rows_equal_rows_run_alone(tiny_lm_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()
    g = torch.Generator().manual_seed(0)
    rows = [example(torch.randint(3, 300, (n,), generator=g).tolist(), t) for n, t in ((20, 3), (9, 5), (14, 1))]
    with torch.no_grad():
        nll, counts = per_example_nll(model, collate(rows, pad_id=0))
        for i, row in enumerate(rows):
            ids = torch.tensor([row.input_ids])
            logits = model(input_ids=ids).logits[0, :-1]
            targets = ids[0, 1:]
            alone = torch.nn.functional.cross_entropy(logits, targets, reduction="none")[row.target_start - 1 :].sum()
            assert counts[i] == row.n_target_tokens
            assert torch.allclose(nll[i], alone, atol=1e-4), (i, float(nll[i]), float(alone))


def test_only_target_tokens_carry_labels() -> None:
    batch = collate([example([5, 6, 7, 8], 2), example([9, 10, 11], 1)], pad_id=0)
    assert batch.keep == 3
    assert batch.labels.tolist() == [[7, 8], [-100, 11]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1], [0, 1, 1, 1]]
    assert batch.position_ids.tolist() == [[0, 1, 2, 3], [0, 0, 1, 2]]
    assert batch.real_tokens == 7 and batch.padded_tokens == 8


def test_length_grouping_reduces_padding() -> None:
    lengths = [3, 40, 4, 41, 5, 42, 6, 43]
    rows = [example(list(range(1, n + 1)), 1) for n in lengths]
    grouped = length_grouped(rows, 2)
    naive = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    pad = lambda groups: sum(collate(g, 0).padded_tokens - collate(g, 0).real_tokens for g in groups)  # noqa: E731
    assert sorted(len(r.input_ids) for g in grouped for r in g) == sorted(lengths)
    assert pad(grouped) < pad(naive) / 5


def test_micro_batches_are_cut_before_padding_exceeds_the_cap() -> None:
    lengths = [10, 11, 12, 30, 31, 32, 33, 90]
    grouped = length_grouped([example(list(range(1, n + 1)), 1) for n in lengths], 8)
    for group in grouped:
        batch = collate(group, 0)
        assert (batch.padded_tokens - batch.real_tokens) / batch.padded_tokens <= 0.10
    assert [len(g) for g in grouped] == [3, 4, 1]
