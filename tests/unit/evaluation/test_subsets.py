"""Eval halves, subset scores, MTL-fit instance checks and the stratified choice of seen tasks."""

from __future__ import annotations

import pytest

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation.icl import evaluate_fit, stratified_tasks
from instructmtl.evaluation.task_scoring import InstanceScore, TaskScore, aggregate_instances, eval_halves
from instructmtl.tasks.schema import Instance, Task
from instructmtl.tasks.selection import TaskSplit


def test_halves_are_disjoint_balanced_and_independent_of_order() -> None:
    ids = [f"task-{i}" for i in range(25)]
    halves = eval_halves(ids)
    assert eval_halves(list(reversed(ids))) == halves
    counts = [sum(1 for h in halves.values() if h == side) for side in ("a", "b")]
    assert counts == [13, 12]
    assert [halves[i] for i in ids[:12]] != ["a"] * 12  # by hash, not by position


def test_subset_scores_pool_nll_by_tokens_and_average_metrics() -> None:
    items = (
        InstanceScore("x", {"accuracy": 1.0}, 2.0, 1),
        InstanceScore("y", {"accuracy": 0.0}, 6.0, 3),
        InstanceScore("z", {"accuracy": 1.0}, 1.0, 1),
    )
    score = TaskScore(aggregate_instances(items), (), 3, items)
    assert score.metrics == pytest.approx({"accuracy": 2 / 3, "target_nll": 9.0 / 5})
    metrics, n = score.subset_metrics({"x", "y"})
    assert n == 2 and metrics == pytest.approx({"accuracy": 0.5, "target_nll": 8.0 / 4})
    halves = score.halves()
    assert sum(n for _, n in halves.values()) == 3


def _split(name: str, category: str) -> TaskSplit:
    inst = (Instance(f"{name}-0", "a", ("b",)),)
    return TaskSplit(Task(name=name, definition="d", instances=inst, categories=(category,)), inst, inst)


def test_stratified_tasks_visit_every_category_before_repeating_one() -> None:
    tasks = [_split(f"a{i}", "A") for i in range(5)] + [_split("b0", "B"), _split("c0", "C"), _split("c1", "C")]
    chosen = [s.name for s in stratified_tasks(tasks, 4)]
    assert chosen == ["a0", "b0", "c0", "a1"]
    assert len(stratified_tasks(tasks, None)) == 8


def test_fit_refuses_an_instance_that_is_not_a_train_instance() -> None:
    tasks = [_split("a0", "A")]
    with pytest.raises(InstructMTLError, match="not one of its train instances"):
        evaluate_fit(None, None, tasks, "def", instances={"a0": ["elsewhere-3"]}, seed=0, max_length=64)  # type: ignore[arg-type]
