"""Instruction data: drawing by position is a pure function of (seed, task, index)."""

from __future__ import annotations

from instructmtl.training.data import InstructionData
from instructmtl.training.examples import TrainExample


def data(seed: int) -> InstructionData:
    items = tuple(TrainExample("a", "a", (i, i + 1), 1) for i in range(5))
    return InstructionData({"a": items}, {"a": "a"}, seed)


def test_each_epoch_is_a_permutation_and_draws_are_reproducible() -> None:
    first = [data(0).take("a", i).input_ids[0] for i in range(10)]
    again = [data(0).take("a", i).input_ids[0] for i in range(10)]
    assert first == again
    assert sorted(first[:5]) == sorted(first[5:]) == [0, 1, 2, 3, 4]
    assert first[:5] != first[5:] or first[:5] != [0, 1, 2, 3, 4]
    other = [data(1).take("a", i).input_ids[0] for i in range(10)]
    assert other != first


def test_a_resumed_reader_continues_where_the_count_says() -> None:
    whole = data(3)
    fresh = data(3)
    assert [whole.take("a", i) for i in range(7, 12)] == [fresh.take("a", i) for i in range(7, 12)]
