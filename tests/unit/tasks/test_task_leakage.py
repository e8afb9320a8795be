"""The leakage check refuses studies whose held-out eval inputs are also trained on."""

from __future__ import annotations

import pytest

from instructmtl.errors import SplitError
from instructmtl.tasks import (
    Instance,
    InstanceCaps,
    Split,
    StudySplit,
    Task,
    TaskCollection,
    TaskSplit,
    find_leaks,
    make_study_split,
    normalize_text,
)


def _task(name: str, inputs: list[str]) -> Task:
    instances = tuple(Instance(f"{name}-{i}", x, ("y",)) for i, x in enumerate(inputs))
    return Task(name=name, definition="d", instances=instances)


def test_normalize_text() -> None:
    assert normalize_text("  a \n\t b  c ") == "a b c"


def test_refuses_held_out_input_seen_in_train_task() -> None:
    shared = "The  cat sat."
    train = _task("train_task", [f"t{i}" for i in range(10)] + [shared])
    held = _task("held_task", ["The cat\nsat.", *[f"h{i}" for i in range(9)]])
    collection = TaskCollection({t.name: t for t in (train, held)}, source="mem", origins={"held_task": "held.json"})
    # every instance on the eval side of the held-out task, every instance on the train side of the train task
    caps_all_eval = InstanceCaps(train=0, eval=100, max_eval_fraction=1.0)
    with pytest.raises(SplitError) as info:
        make_study_split(
            collection,
            Split(train=("train_task",), test=("held_task",)),
            seed=0,
            train_caps=InstanceCaps(eval=0),
            held_out_caps=caps_all_eval,
        )
    message = str(info.value)
    assert "held-out task 'held_task' eval instance 'held_task-0'" in message
    assert "train instance 'train_task-10' of task 'train_task'" in message
    assert "held.json" in message and "leave task 'train_task' out of training" in message
    assert "\n" not in message


def test_finds_leak_into_own_fine_tuning_instances() -> None:
    task = _task("h", ["a", "b"])
    study = StudySplit(
        train_tasks=(TaskSplit(_task("t", ["x"]), _task("t", ["x"]).instances, ()),),
        held_out_tasks=(TaskSplit(task, (task.instances[0],), (Instance("h-9", " a ", ("y",)), task.instances[1])),),
        seed=0,
    )
    leaks = find_leaks(study)
    found = [(leak.task, leak.instance_id, leak.source_task, leak.source_id) for leak in leaks]
    assert found == [("h", "h-9", "h", "h-0")]


def test_train_tasks_eval_instances_are_not_training_data() -> None:
    held = _task("h", ["a"])
    other = _task("t", ["a"])
    study = StudySplit(
        train_tasks=(TaskSplit(other, (), other.instances),),  # "a" only in the train task's eval side
        held_out_tasks=(TaskSplit(held, (), held.instances),),
        seed=0,
    )
    assert find_leaks(study) == []
