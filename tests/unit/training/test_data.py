"""Instruction data: drawing by position is a pure function of (seed, task, index)."""

from __future__ import annotations

import json
from dataclasses import asdict

from instructmtl.tokenized.examples import TrainExample
from instructmtl.training.data import InstructionData
from instructmtl.training.state import TrainerState


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


def two_tasks(seed: int) -> InstructionData:
    a = tuple(TrainExample("a", "a", (i, i + 1), 1) for i in range(5))
    b = tuple(TrainExample("b", "b", (100 + i, 101 + i), 1) for i in range(3))
    return InstructionData({"a": a, "b": b}, {"a": "a", "b": "b"}, seed)


def read(reader: InstructionData, tasks: list[str], counts: dict[str, int]) -> list[tuple[int, ...]]:
    """Draws as the tune workflow does: each task's next example, counted in ``counts``."""
    drawn = []
    for task in tasks:
        drawn.append(reader.take(task, counts.get(task, 0)).input_ids)
        counts[task] = counts.get(task, 0) + 1
    return drawn


def test_a_resumed_reader_continues_where_the_original_goes_on() -> None:
    draws = list("abaabbabaabaabba")
    original, counts = two_tasks(3), {}
    read(original, draws[:7], counts)  # a: 4 of its 5, b: its whole first epoch
    saved = json.dumps(asdict(TrainerState(step=1, task_counts=counts)))  # what trainer_state.json holds
    # a new process: the reader built again from the same data and seed, the position from the saved state
    resumed, resumed_counts = two_tasks(3), TrainerState(**json.loads(saved)).task_counts
    expected = read(original, draws[7:], counts)  # the original reader goes on, across both tasks' epochs
    assert read(resumed, draws[7:], resumed_counts) == expected and resumed_counts == counts
    assert read(two_tasks(3), draws[7:], {}) != expected  # starting over would not pass


def two_encodings(seed: int) -> InstructionData:
    ids = [f"x{i}" for i in range(4)] * 2  # every instance under two encodings, first encoding first
    items = tuple(TrainExample("a", "a", (j, j + 1), 1, None, iid) for j, iid in enumerate(ids))
    return InstructionData({"a": items}, {"a": "a"}, seed)


def test_drawn_instances_count_each_instance_once_in_first_drawn_order() -> None:
    d = two_encodings(5)
    order = [d.take("a", i).instance_id for i in range(6)]
    drawn = d.drawn_instances({"a": 6})["a"]
    assert drawn == list(dict.fromkeys(order)) and len(set(drawn)) == len(drawn)


def test_first_drawn_instances_is_what_any_run_of_the_seed_draws_first() -> None:
    from instructmtl.training.data import first_drawn_instances

    ids = [f"x{i}" for i in range(4)] * 2
    for seed in (0, 1, 2):
        long_run = two_encodings(seed).drawn_instances({"a": 16})["a"]
        for m in (1, 2, 3, 4):
            assert first_drawn_instances(seed, "a", ids, m) == long_run[:m]
    assert first_drawn_instances(0, "a", ids, 10) == two_encodings(0).drawn_instances({"a": 16})["a"]
    assert first_drawn_instances(0, "a", ids, 4) != first_drawn_instances(1, "a", ids, 4) or first_drawn_instances(
        0, "a", ids, 4
    ) != first_drawn_instances(2, "a", ids, 4)
