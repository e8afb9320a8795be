"""Held-out choice, the per-task instance split and its caps."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from instructmtl.errors import ConfigError, SplitError
from instructmtl.tasks import (
    Instance,
    InstanceCaps,
    Split,
    Task,
    TaskCollection,
    load_tasks,
    make_study_split,
    partition_by_categories,
    partition_by_split,
    partition_by_tasks,
    split_instances,
)


def _task(name: str, n: int, category: str = "Misc.") -> Task:
    instances = tuple(Instance(f"{name}-{i}", f"{name} input {i}", (f"out {i}",)) for i in range(n))
    return Task(name=name, definition=f"Do {name}.", instances=instances, categories=(category,))


def _ids(instances: tuple[Instance, ...]) -> list[str]:
    return [i.id for i in instances]


def test_same_seed_same_split_other_seed_other_split() -> None:
    task = _task("t", 40)
    caps = InstanceCaps(train=100, eval=10)
    first, again, other = split_instances(task, caps, 7), split_instances(task, caps, 7), split_instances(task, caps, 8)
    assert first == again
    assert _ids(first.eval) != _ids(other.eval)


def test_split_ignores_instance_and_task_order() -> None:
    task = _task("t", 30)
    shuffled = Task(name="t", definition=task.definition, instances=tuple(random.Random(1).sample(task.instances, 30)))
    caps = InstanceCaps(train=100, eval=10)
    assert split_instances(task, caps, 3).eval == split_instances(shuffled, caps, 3).eval
    tasks = [_task(f"t{i}", 20) for i in range(4)]
    forward = TaskCollection({t.name: t for t in tasks})
    backward = TaskCollection({t.name: t for t in reversed(tasks)})
    partition = Split(train=("t0", "t1"), test=("t2", "t3"))
    a = make_study_split(forward, partition, seed=5)
    b = make_study_split(backward, partition, seed=5)
    assert a == b


def test_caps_and_eval_fraction() -> None:
    big = split_instances(_task("big", 400), InstanceCaps(train=100, eval=50), 0)
    assert (len(big.train), len(big.eval)) == (100, 50)
    small = split_instances(_task("small", 30), InstanceCaps(train=100, eval=50, max_eval_fraction=0.5), 0)
    assert (len(small.train), len(small.eval)) == (15, 15)
    assert not set(_ids(small.train)) & set(_ids(small.eval))
    with pytest.raises(ConfigError, match="instance caps must be >= 0, got train=-1"):
        InstanceCaps(train=-1)


def test_duplicate_inputs_stay_on_one_side() -> None:
    dup = tuple(Instance(f"d-{i}", f"same {i // 2}", ("x",)) for i in range(20))  # every input twice
    task = Task(name="dup", definition="d", instances=dup)
    for seed in range(5):
        split = split_instances(task, InstanceCaps(train=100, eval=7), seed)
        assert not {i.input for i in split.train} & {i.input for i in split.eval}
        assert len(split.eval) <= 7


def test_held_out_by_split_file(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    assert partition_by_split(collection, "copy_only") == Split(train=("tiny001_copy",), test=("tiny003_sentiment",))
    with pytest.raises(SplitError, match="Known splits: copy_only, default"):
        partition_by_split(collection, "dev")


def test_held_out_by_list(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    split = partition_by_tasks(collection, ["tiny003_sentiment"])
    assert split.test == ("tiny003_sentiment",)
    assert split.train == ("tiny001_copy", "tiny002_reverse_words", "tiny004_first_word")
    with pytest.raises(SplitError, match=r"unknown task 'tiny003_sentimnet'\. Did you mean: tiny003_sentiment[,?]"):
        partition_by_tasks(collection, ["tiny003_sentimnet"])


def test_held_out_by_category_takes_any_category(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    split = partition_by_categories(collection, ["Program Execution"])
    # tiny004 is "Text Categorization" first, "Program Execution" second: still held out
    assert split.test == ("tiny001_copy", "tiny002_reverse_words", "tiny004_first_word")
    assert split.train == ("tiny003_sentiment",)
    message = r"no task has category 'Program Executon'\. Did you mean: Program Execution\?"
    with pytest.raises(SplitError, match=message):
        partition_by_categories(collection, ["Program Executon"])


def test_study_split_on_real_sni(sni_dir: Path) -> None:
    collection = load_tasks(sni_dir)
    study = make_study_split(
        collection,
        partition_by_split(collection, "default"),
        seed=0,
        train_caps=InstanceCaps(train=100, eval=10),
        held_out_caps=InstanceCaps(train=40, eval=50),
    )
    assert len(study.train_names) == 40 and len(study.held_out_names) == 20
    assert all(len(t.eval) == 10 for t in study.train_tasks)
    assert all(len(t.train) + len(t.eval) == len(t.task.instances) for t in study.held_out_tasks)


def test_study_needs_both_sides_and_eval_instances() -> None:
    collection = TaskCollection({"a": _task("a", 10), "b": _task("b", 1)}, source="mem")
    with pytest.raises(SplitError, match="needs train and held-out tasks"):
        make_study_split(collection, Split(train=("a", "b"), test=()), seed=0)
    with pytest.raises(SplitError, match="held-out task 'b' gets no eval instances from its 1"):
        make_study_split(collection, Split(train=("a",), test=("b",)), seed=0)


def _skewed(n_yes: int, n_no: int) -> Task:
    labels = ["yes"] * n_yes + ["no"] * n_no
    instances = tuple(Instance(f"s-{i}", f"word {i}", (label,)) for i, label in enumerate(labels))
    return Task(name="skewed", definition="d", instances=instances)


def test_balanced_labels_even_out_a_skewed_task() -> None:
    task = _skewed(n_yes=12, n_no=188)  # like a generator's "starts with a vowel": 94% "no"
    natural = split_instances(task, InstanceCaps(eval=24), 0)
    balanced = split_instances(task, InstanceCaps(train=500, eval=24, balance_labels=True), 0)
    share = lambda s: sum(i.outputs[0] == "yes" for i in s.eval) / len(s.eval)  # noqa: E731
    assert share(natural) < 0.25
    assert share(balanced) == pytest.approx(0.25)  # "yes" gives half of its 12, "no" fills the rest
    assert len(balanced.eval) == 24
    assert sum(i.outputs[0] == "yes" for i in balanced.train) == 6  # a rare label keeps instances to train on
    assert not set(_ids(balanced.train)) & set(_ids(balanced.eval))
    even = split_instances(_skewed(100, 100), InstanceCaps(eval=24, balance_labels=True), 0)
    assert share(even) == 0.5
    # generation tasks are not touched by the option
    gen = _task("g", 60)
    assert split_instances(gen, InstanceCaps(eval=10, balance_labels=True), 0) == split_instances(
        gen, InstanceCaps(eval=10), 0
    )
