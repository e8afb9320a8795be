"""The grid's step inputs: rows packed after their shared prefix lose nothing, and the loss is unchanged."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import stack_module_state
from transformers import LlamaConfig, LlamaForCausalLM

from instructmtl.evaluation.grid import _per_member_loss
from instructmtl.evaluation.grid_attention import ATTENTION_NAME
from instructmtl.evaluation.grid_batch import packed_length, shared_prefix_length, step_inputs
from instructmtl.training.batches import collate, per_example_nll
from instructmtl.training.examples import IGNORE_INDEX, TrainExample

PAD = 0


def _rows(prefix: list[int], tails: list[tuple[list[int], list[int]]]) -> list[TrainExample]:
    """Examples ``prefix + context tail + target``."""
    return [TrainExample("t", "t", tuple(prefix + ctx + tgt), len(prefix) + len(ctx)) for ctx, tgt in tails]


MEMBER_A = _rows([5, 6, 7, 8], [([9, 10], [11, 12]), ([13], [14]), ([15, 16, 17], [18])])
MEMBER_B = _rows([20, 21], [([22], [23, 24, 25])])  # one row: fewer segments and a shorter packed step than A


def test_shared_prefix_stops_before_each_rows_last_context_token() -> None:
    assert shared_prefix_length(MEMBER_A) == 4
    assert shared_prefix_length(MEMBER_B) == 2  # alone: its whole context but the last token


def test_packed_step_is_the_prefix_then_each_rows_tail_with_their_own_positions_and_targets() -> None:
    inputs = step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32)
    assert packed_length(MEMBER_A, 4) == 4 + 4 + 2 + 4 and packed_length(MEMBER_B, 2) == 2 + 4
    total, queries = packed_length(MEMBER_A, 4), inputs.segment_query.shape[2]
    assert inputs.input_ids.shape == (2, 1, total) and inputs.segment_query.shape[:2] == (2, 4)
    for m, (rows, p) in enumerate([(MEMBER_A, 4), (MEMBER_B, 2)]):
        ids, positions = inputs.input_ids[m, 0].tolist(), inputs.positions[m, 0].tolist()
        segment = [slot // queries for slot in inputs.token_slot[m].tolist()]
        assert segment[:p] == [0] * p  # tails of at most 4 tokens: one prefix segment of 4 queries
        start = p
        for r, row in enumerate(rows):
            end = start + len(row.input_ids) - p
            # prefix + the row's packed tail is the row, at the row's own positions, in its own segment
            assert ids[:p] + ids[start:end] == list(row.input_ids)
            assert positions[:p] + positions[start:end] == list(range(len(row.input_ids)))
            assert segment[start:end] == [r + 1] * (end - start)
            # the segment's queries are its tail; its keys the prefix then its tail, nothing of another row
            assert inputs.segment_query[m, r + 1, : end - start].tolist() == list(range(start, end))
            assert inputs.segment_key[m, r + 1, : end - start + p].tolist() == list(range(p)) + list(range(start, end))
            start = end
        # each target is read from the packed token just before it in its row
        picked, labels = inputs.targets[m, 0].tolist(), inputs.labels[m, 0].tolist()
        expected = [(pos, t) for row_start, row in _starts(rows, p)
                    for j, t in enumerate(row.input_ids[row.target_start :])
                    for pos in [row_start + row.target_start - 1 - p + j]]
        assert [(picked[i], labels[i]) for i, x in enumerate(labels) if x != IGNORE_INDEX] == expected
        assert labels.count(IGNORE_INDEX) == len(labels) - len(expected)  # B's unused target slots


def _starts(rows: list[TrainExample], prefix: int) -> list[tuple[int, TrainExample]]:
    """Where each row's tail starts in the packed step."""
    out, start = [], prefix
    for row in rows:
        out.append((start, row))
        start += len(row.input_ids) - prefix
    return out


def test_a_prefix_longer_than_the_row_tails_is_cut_into_segments_that_see_it_causally() -> None:
    rows = _rows(list(range(30, 40)), [([1], [2]), ([3], [4, 5])])  # prefix 10, tails of 2 and 3 tokens
    inputs = step_inputs([rows], [10], PAD, torch.float32)
    queries = inputs.segment_query.shape[2]
    assert queries == 3 and inputs.segment_query.shape[1] == 4 + 2  # ceil(10 / 3) prefix pieces, 2 rows
    visible = inputs.mask[0, 0] == 0
    for position in range(10):
        g, q = divmod(inputs.token_slot[0, position].item(), queries)
        assert g < 4 and inputs.segment_query[0, g, q] == position
        keys = inputs.segment_key[0, g][visible[g, q]].tolist()
        assert keys == list(range(position + 1))  # the prefix up to itself, nothing more


def test_segment_mask_is_causal_by_row_position_and_hides_padding() -> None:
    inputs = step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32)
    visible = inputs.mask[0, 0] == 0  # member A: [G, Q, K]
    row = visible[2]  # MEMBER_A's second row: tail [13, 14]; keys: prefix (4), then the tail (2)
    assert row[0, :6].tolist() == [True] * 5 + [False]  # its first token sees the prefix and itself
    assert row[1, :6].tolist() == [True] * 6
    assert not row[:2, 6:].any()  # key slots past the segment are padding
    assert row[2:].sum(-1).tolist() == [1] * (row.shape[0] - 2)  # padding query slots see one key
    # member B (packed length 6) is padded to A's 14: no segment of B has a query or key there
    b = packed_length(MEMBER_B, 2)
    used = inputs.mask[1, 0] == 0
    assert inputs.segment_key[1][used.any(dim=1)].max() < b


def test_the_prefix_split_leaves_each_members_loss_unchanged() -> None:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, initializer_range=0.3)
    models = [LlamaForCausalLM(config) for _ in range(2)]
    template = LlamaForCausalLM(copy.deepcopy(config))  # its own config: the attention setting is per config
    template.set_attn_implementation(ATTENTION_NAME)
    params = stack_module_state(models)[0]
    loss = _per_member_loss(template, dict(template.named_buffers()))
    split = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32).tensors())
    whole = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [0, 0], PAD, torch.float32).tensors())
    for m, rows in enumerate([MEMBER_A, MEMBER_B]):
        nll, counts = per_example_nll(models[m], collate(rows, PAD))
        expected = float((nll.sum() / counts.sum()).detach())
        assert float(split[m].detach()) == pytest.approx(expected, abs=1e-5)
        assert float(whole[m].detach()) == pytest.approx(expected, abs=1e-5)
