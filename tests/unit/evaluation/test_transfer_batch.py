"""The grid's step inputs: rows split at their shared prefix lose nothing, and the loss is unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch.func import stack_module_state
from transformers import LlamaConfig, LlamaForCausalLM

from instructmtl.evaluation.grid import _per_member_loss
from instructmtl.evaluation.grid_batch import shared_prefix_length, step_inputs
from instructmtl.training.batches import collate, per_example_nll
from instructmtl.training.examples import IGNORE_INDEX, TrainExample

PAD = 0


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread: on the shared 2-core machine, two OpenMP threads on these tiny ops wait on each
    other and make the test up to 100x slower (measured: 98 s against 0.8 s); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _rows(prefix: list[int], tails: list[tuple[list[int], list[int]]]) -> list[TrainExample]:
    """Examples ``prefix + context tail + target``."""
    return [TrainExample("t", "t", tuple(prefix + ctx + tgt), len(prefix) + len(ctx)) for ctx, tgt in tails]


MEMBER_A = _rows([5, 6, 7, 8], [([9, 10], [11, 12]), ([13], [14]), ([15, 16, 17], [18])])
MEMBER_B = _rows([20, 21], [([22], [23, 24, 25])])  # one row: two zero-weight rows pad it to three


def test_shared_prefix_stops_before_each_rows_last_context_token() -> None:
    assert shared_prefix_length(MEMBER_A) == 4
    assert shared_prefix_length(MEMBER_B) == 2  # alone: its whole context but the last token


def test_rows_are_the_prefix_then_the_suffix_with_their_own_positions_and_targets() -> None:
    inputs = step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32)
    assert inputs.prefix_ids.shape == (2, 1, 4) and inputs.input_ids.shape[:2] == (2, 3)
    for m, (rows, p) in enumerate([(MEMBER_A, 4), (MEMBER_B, 2)]):
        prefix = inputs.prefix_ids[m, 0, 4 - p :].tolist()
        assert inputs.prefix_positions[m, 0, 4 - p :].tolist() == list(range(p))
        for r in range(3):
            row = rows[min(r, len(rows) - 1)]
            suffix_len = len(row.input_ids) - p
            suffix = inputs.input_ids[m, r, -suffix_len:].tolist()
            assert prefix + suffix == list(row.input_ids)
            assert inputs.positions[m, r, -suffix_len:].tolist() == list(range(p, len(row.input_ids)))
            labels = inputs.labels[m, r].tolist()
            if r < len(rows):
                assert [x for x in labels if x != IGNORE_INDEX] == list(row.input_ids[row.target_start :])
            else:
                assert set(labels) == {IGNORE_INDEX}  # zero-weight padding row
    # member B's prefix is left-padded by 2: no row may see those pads
    assert (inputs.mask[1, :, 0, :, :2] < -1e30).all() and (inputs.mask[1, :, 0, :, 2:4] == 0).all()


def test_the_prefix_split_leaves_each_members_loss_unchanged() -> None:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, initializer_range=0.3)
    models = [LlamaForCausalLM(config) for _ in range(2)]
    template = LlamaForCausalLM(config)
    template.set_attn_implementation("eager")
    params = stack_module_state(models)[0]
    loss = _per_member_loss(template, dict(template.named_buffers()))
    split = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32).tensors())
    whole = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [0, 0], PAD, torch.float32).tensors())
    for m, rows in enumerate([MEMBER_A, MEMBER_B]):
        nll, counts = per_example_nll(models[m], collate(rows, PAD))
        expected = float((nll.sum() / counts.sum()).detach())
        assert float(split[m].detach()) == pytest.approx(expected, abs=1e-5)
        assert float(whole[m].detach()) == pytest.approx(expected, abs=1e-5)
