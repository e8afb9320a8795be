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
from instructmtl.tokenized.batches import collate, per_example_nll
from instructmtl.tokenized.examples import IGNORE_INDEX, TrainExample

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
    # a row's last token is only a label: tails of 3, 1 and 3 tokens after A's prefix, 3 after B's
    assert packed_length(MEMBER_A, 4) == 4 + 3 + 1 + 3 and packed_length(MEMBER_B, 2) == 2 + 3
    total, queries = packed_length(MEMBER_A, 4), inputs.segment_query.shape[2]
    assert queries == 3 and inputs.input_ids.shape == (2, 1, total)
    assert inputs.segment_query.shape[1] == 2 + 3  # A: its prefix in 2 pieces of at most 3, then 3 rows
    for m, (rows, p) in enumerate([(MEMBER_A, 4), (MEMBER_B, 2)]):
        ids, positions = inputs.input_ids[m, 0].tolist(), inputs.positions[m, 0].tolist()
        segment = [slot // queries for slot in inputs.token_slot[m].tolist()]
        pieces = -(-p // queries)
        assert segment[:p] == [i // queries for i in range(p)]
        start = p
        for r, row in enumerate(rows):
            end = start + len(row.input_ids) - 1 - p
            # prefix + the row's packed tail is the row but its last token, at the row's own positions
            assert ids[:p] + ids[start:end] == list(row.input_ids[:-1])
            assert positions[:p] + positions[start:end] == list(range(len(row.input_ids) - 1))
            assert segment[start:end] == [pieces + r] * (end - start)
            assert inputs.segment_query[m, pieces + r, : end - start].tolist() == list(range(start, end))
            start = end
        # each target is read from the packed token just before it in its row
        picked, labels = inputs.targets[m, 0].tolist(), inputs.labels[m, 0].tolist()
        expected = [
            (pos, t)
            for row_start, row in _starts(rows, p)
            for j, t in enumerate(row.input_ids[row.target_start :])
            for pos in [row_start + row.target_start - 1 - p + j]
        ]
        assert [(picked[i], labels[i]) for i, x in enumerate(labels) if x != IGNORE_INDEX] == expected
        assert labels.count(IGNORE_INDEX) == len(labels) - len(expected)  # B's unused target slots


def _starts(rows: list[TrainExample], prefix: int) -> list[tuple[int, TrainExample]]:
    """Where each row's tail starts in the packed step."""
    out, start = [], prefix
    for row in rows:
        out.append((start, row))
        start += len(row.input_ids) - 1 - prefix
    return out


def test_a_prefix_longer_than_the_row_tails_is_cut_into_segments_that_see_it_causally() -> None:
    rows = _rows(list(range(30, 40)), [([1], [2]), ([3], [4, 5])])  # prefix 10, tails of 1 and 2 tokens
    inputs = step_inputs([rows], [10], PAD, torch.float32)
    queries = inputs.segment_query.shape[2]
    assert queries == 2 and inputs.segment_query.shape[1] == 5 + 2  # 10 / 2 prefix pieces, 2 rows
    visible = inputs.mask[0, 0] == 0  # [G, Q, 10 prefix keys + 2 own keys]
    for position in range(10):
        g, q = divmod(inputs.token_slot[0, position].item(), queries)
        assert g < 5 and inputs.segment_query[0, g, q] == position
        # the prefix up to itself, nothing more (its own slots would count it twice)
        assert visible[g, q].nonzero().flatten().tolist() == list(range(position + 1))


def test_segment_mask_is_causal_by_row_position_and_hides_padding() -> None:
    inputs = step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32)
    visible = inputs.mask[:, 0] == 0  # [M, G, Q, 4 prefix keys + 3 own keys]
    row = visible[0, 2]  # A's first row: tail [9, 10, 11]
    assert row.tolist() == [[True] * 5 + [False] * 2, [True] * 6 + [False], [True] * 7]
    row = visible[0, 3]  # A's second row: tail [13]; its two other query slots are padding
    assert row[0].tolist() == [True] * 5 + [False] * 2
    assert row[1:].tolist() == [[False] * 4 + [True] + [False] * 2] * 2  # padding sees one key
    # B's prefix is 2: the block's keys 2 and 3 are B's row tokens, which its row sees only as its own
    row = visible[1, 1]
    assert row.tolist() == [
        [True, True, False, False, True, False, False],
        [True, True, False, False, True, True, False],
        [True, True, False, False, True, True, True],
    ]
    assert not visible[1, 2:, :, :4].any()  # B's padding segments see nothing of the prefix block


def test_every_tensor_of_a_small_step_is_the_recorded_layout() -> None:
    # recorded from the implementation before the per-segment refactor: the layout must not change
    member_a = _rows([20, 21, 22], [([30], [31, 32]), ([33, 34], [35])])
    member_b = _rows([40], [([41, 42, 43], [44])])
    inputs = step_inputs([member_a, member_b], [3, 1], PAD, torch.float32)
    assert inputs.input_ids.tolist() == [[[20, 21, 22, 30, 31, 33, 34]], [[40, 41, 42, 43, 0, 0, 0]]]
    assert inputs.positions.tolist() == [[[0, 1, 2, 3, 4, 3, 4]], [[0, 1, 2, 3, 0, 0, 0]]]
    assert inputs.segment_query.tolist() == [[[0, 1, 2], [3, 4, 0], [5, 6, 0]], [[0, 0, 0], [1, 2, 3], [0, 0, 0]]]
    assert inputs.token_slot.tolist() == [[0, 1, 2, 3, 4, 6, 7], [0, 3, 4, 5, 0, 0, 0]]
    assert inputs.targets.tolist() == [[[3, 4, 6]], [[3, 0, 0]]]
    assert inputs.labels.tolist() == [[[31, 32, 35]], [[44, IGNORE_INDEX, IGNORE_INDEX]]]
    assert inputs.mask.shape == (2, 1, 3, 3, 3 + 3)
    visible = [
        [["".join("1" if key else "." for key in query) for query in segment] for segment in member[0]]
        for member in (inputs.mask == 0).tolist()
    ]
    assert visible == [
        [["1.....", "11....", "111..."], ["1111..", "11111.", "...1.."], ["1111..", "11111.", "...1.."]],
        [["1.....", "...1..", "...1.."], ["1..1..", "1..11.", "1..111"], ["...1..", "...1..", "...1.."]],
    ]


def test_the_prefix_split_leaves_each_members_loss_unchanged() -> None:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        initializer_range=0.3,
    )
    models = [LlamaForCausalLM(config) for _ in range(2)]
    template = LlamaForCausalLM(copy.deepcopy(config))  # its own config: the attention setting is per config
    template.set_attn_implementation(ATTENTION_NAME)
    params = stack_module_state(models)[0]
    loss = _per_member_loss(template, dict(template.named_buffers()))
    split = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [4, 2], PAD, torch.float32).tensors())
    whole = loss(params, *step_inputs([MEMBER_A, MEMBER_B], [0, 0], PAD, torch.float32).tensors())
    for m, rows in enumerate([MEMBER_A, MEMBER_B]):
        nll, counts, _ = per_example_nll(models[m], collate(rows, PAD))
        expected = float((nll.sum() / counts.sum()).detach())
        assert float(split[m].detach()) == pytest.approx(expected, abs=1e-5)
        assert float(whole[m].detach()) == pytest.approx(expected, abs=1e-5)
