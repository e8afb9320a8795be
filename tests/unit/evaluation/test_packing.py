"""Row packing of the shared-prefix scorer: which instances share a row, and how many rows a forward takes."""

from __future__ import annotations

import torch

from instructmtl.evaluation._packing import CostModel, Instance, pack_rows, packed_batch

#: Packed lengths after 2 cached tokens: 3 + 0, 1 + 2, 5 + 1, 2 + 0.
INSTANCES = [
    Instance([1, 2, 3, 4, 5], [[6]]),
    Instance([1, 2, 3], [[7, 8, 9], [4]]),
    Instance([1, 2, 3, 4, 5, 6, 7], [[8, 9]]),
    Instance([1, 2, 3, 4], [[5]]),
]


def test_free_attention_and_dear_forwards_pack_everything_into_one_row() -> None:
    cost = CostModel(token=1.0, pair=0.0, overhead=100.0)
    assert pack_rows(INSTANCES, 2, batch_size=4, cost=cost) == [[[2, 0, 1, 3]]]


def test_dear_attention_keeps_rows_at_the_longest_instance() -> None:
    # First-fit decreasing at capacity 6: [2], [0, 1] (3 + 3), [3]; fullest first, two rows per forward.
    cost = CostModel(token=1.0, pair=1e6, overhead=1e8)
    assert pack_rows(INSTANCES, 2, batch_size=2, cost=cost) == [[[2], [0, 1]], [[3]]]
    # With forwards for free, the short row gets its own forward only where that saves padding.
    cost = CostModel(token=1.0, pair=1e6, overhead=0.0)
    assert pack_rows(INSTANCES, 2, batch_size=3, cost=cost) == [[[2], [0, 1]], [[3]]]


def test_packed_layout_positions_and_scored_tokens() -> None:
    batch = packed_batch(INSTANCES, [[1, 3]], start=2)
    # Instance 1: query [3] at position 2, then label [7, 8, 9] fed as [7, 8] at 3, 4; instance 3: query [3, 4].
    assert batch.input_ids.tolist() == [[3, 7, 8, 3, 4]]
    assert batch.position_ids.tolist() == [[2, 3, 4, 2, 3]]
    assert batch.keep.tolist() == [[True, True, True, False, True]]
    # Kept logits: 0 (after query 1), 1, 2 (after 7, 8), 3 (after query 3).
    assert batch.score_position.tolist() == [0, 1, 2, 0, 3]
    assert batch.score_target.tolist() == [7, 8, 9, 4, 5]
    assert batch.score_owner.tolist() == [0, 0, 0, 1, 2]
    visible = batch.attention_mask(cached=2, dtype=torch.float32)[0, 0] == 0
    # Every token sees the 2 cached positions; instance 3's query sees only itself, not instance 1's tokens.
    assert visible[:, :2].all()
    assert visible[3, 2:].tolist() == [False, False, False, True, False]
    assert visible[2, 2:].tolist() == [True, True, True, False, False]


def test_every_tensor_of_a_two_row_batch_is_the_recorded_layout() -> None:
    # recorded from the implementation before the per-row refactor: the layout must not change
    instances = [
        Instance([1, 2, 3, 4], [[5, 6, 7], [8]]),
        Instance([1, 2, 9], [[10, 11], [12, 13]]),
        Instance([1, 2, 14, 15], [[16]]),
    ]
    batch = packed_batch(instances, [[1, 2], [0]], start=2)
    assert batch.instances == (1, 2, 0) and batch.n_scored == 5
    assert batch.input_ids.tolist() == [[9, 10, 12, 14, 15], [3, 4, 5, 6, 0]]
    assert batch.position_ids.tolist() == [[2, 3, 3, 2, 3], [2, 3, 4, 5, 0]]
    assert batch.segment.tolist() == [[0, 0, 0, 1, 1], [2, 2, 2, 2, -1]]
    assert batch.branch.tolist() == [[0, 1, 2, 0, 0], [0, 0, 1, 1, 0]]
    assert batch.keep.tolist() == [[True, True, True, False, True], [False, True, True, True, False]]
    assert batch.score_position.tolist() == [0, 1, 0, 2, 3, 4, 5, 6, 4]
    assert batch.score_target.tolist() == [10, 11, 12, 13, 16, 5, 6, 7, 8]
    assert batch.score_owner.tolist() == [0, 0, 1, 1, 2, 3, 3, 3, 4]
