"""MTL fit instances: the same fixed set for the base and every checkpoint that drew it."""

from __future__ import annotations

from instructmtl.tasks.schema import Instance, Task
from instructmtl.tasks.selection import TaskSplit
from instructmtl.training.data import first_drawn_instances
from instructmtl.training.fit_plan import fit_plan


def split(name: str, n: int) -> TaskSplit:
    train = tuple(Instance(f"{name}-{i}", f"in {i}", ("out",)) for i in range(n))
    task = Task(name=name, definition="d", instances=train, categories=("C",))
    return TaskSplit(task, train, ())


def test_base_plan_is_the_seeds_first_draws_and_a_checkpoint_is_scored_only_on_what_it_drew() -> None:
    tasks = [split("t1", 6), split("t2", 3)]
    base = fit_plan(tasks, ["def", "id"], seed=4, m=4, drawn=None)
    ids = [f"t1-{i}" for i in range(6)] * 2
    assert base.instances["t1"] == first_drawn_instances(4, "t1", ids, 4)
    assert len(base.instances["t2"]) == 3  # a task with fewer train instances gives all of them
    drawn = {"t1": base.instances["t1"] + ["t1-5"], "t2": base.instances["t2"][:2]}
    tuned = fit_plan(tasks, ["def", "id"], seed=4, m=4, drawn=drawn)
    assert tuned.instances == {"t1": base.instances["t1"]}
    assert tuned.skipped == ("t2",)
    assert tuned.summary() == {"tasks": 1, "instances": 4, "skipped": ["t2"]}
