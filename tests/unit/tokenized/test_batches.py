"""Left-padded micro-batches give each row exactly the loss it has alone; length grouping keeps padding low."""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from instructmtl.tokenized.batches import collate, length_grouped, per_example_nll
from instructmtl.tokenized.examples import TrainExample


def example(ids: list[int], target: int, task: str = "t") -> TrainExample:
    return TrainExample(task, task, tuple(ids), len(ids) - target)


def test_left_padded_rows_equal_rows_run_alone(tiny_lm_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()
    g = torch.Generator().manual_seed(0)
    rows = [example(torch.randint(3, 300, (n,), generator=g).tolist(), t) for n, t in ((20, 3), (9, 5), (14, 1))]
    with torch.no_grad():
        nll, counts, _ = per_example_nll(model, collate(rows, pad_id=0))
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


def test_micro_batches_are_cut_where_padding_costs_more_than_a_pass() -> None:
    lengths = [10, 11, 12, 30, 31, 32, 33, 90]
    rows = [example(list(range(1, n + 1)), 1) for n in lengths]
    # a pass costs as much as `overhead` slots: cheap passes cut off every padded slot, dear ones merge
    assert [len(g) for g in length_grouped(rows, 8, overhead=32)] == [3, 4, 1]
    assert [len(g) for g in length_grouped(rows, 8, overhead=0)] == [1] * 8
    assert [len(g) for g in length_grouped(rows, 8, overhead=10**6)] == [8]
    assert [len(g) for g in length_grouped(rows, 3, overhead=10**6)] == [3, 3, 2]  # at most micro_batch_size rows


def _cost(groups: list[list[TrainExample]], overhead: int) -> int:
    return sum(len(g) * max(len(r.input_ids) for r in g) + overhead for g in groups)


def _brute_force_cost(lengths: list[int], size: int, overhead: int) -> int:
    """Least cost over every way to cut the sorted lengths into contiguous runs of at most ``size``."""
    ordered = sorted(lengths)
    best = None
    for mask in itertools.product((False, True), repeat=len(ordered) - 1):
        runs, current = [], [ordered[0]]
        for cut_here, n in zip(mask, ordered[1:], strict=True):
            if cut_here:
                runs.append(current)
                current = []
            current.append(n)
        runs.append(current)
        if all(len(r) <= size for r in runs):
            cost = sum(len(r) * max(r) + overhead for r in runs)
            best = cost if best is None else min(best, cost)
    assert best is not None
    return best


def test_grouping_has_the_least_cost_of_all_cuts() -> None:
    g = torch.Generator().manual_seed(1)
    for trial in range(20):
        lengths = torch.randint(5, 200, (9,), generator=g).tolist()
        size, overhead = 2 + trial % 4, [0, 16, 48, 200][trial % 4]
        rows = [example(list(range(1, n + 1)), 1) for n in lengths]
        grouped = length_grouped(rows, size, overhead)
        assert sorted(len(r.input_ids) for grp in grouped for r in grp) == sorted(lengths)
        assert all(len(grp) <= size for grp in grouped)
        assert _cost(grouped, overhead) == _brute_force_cost(lengths, size, overhead)
