"""Choosing a study's tasks and instances: held-out tasks, per-task train/eval instances, caps.

A study needs, per *train* task, instances to instruction-tune on and unseen
instances of the same task for MTL generalization, and per *held-out* task, a
pool of train instances (for few-shot fine-tuning and demonstrations) and eval
instances. Every draw uses a ``random.Random`` seeded from the study seed and
the task's *name*, so a task's split does not change when tasks are added,
removed or reordered, and no global RNG is touched.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from instructmtl.errors import ConfigError, SplitError
from instructmtl.tasks.collection import Split, TaskCollection, close_matches_hint
from instructmtl.tasks.leakage import check_leakage, normalize_text
from instructmtl.tasks.schema import Instance, Task, label_set


@dataclass(frozen=True, slots=True)
class InstanceCaps:
    """Per-task limits on how many instances each side gets.

    Attributes:
        train: most train instances per task (Tk-Instruct trains on at most 100 per task).
        eval: most eval instances per task.
        max_eval_fraction: the largest share of a task's instances that eval may take, so
            that a small task still keeps instances to train on.
        balance_labels: for a classification task, draw eval instances label by label so
            every label is as equally represented as the data allow (each label gives at
            most ``max_eval_fraction`` of its own instances). A generator's label mix is
            an accident of how inputs were drawn (a built-in "starts with a vowel" task is
            96% "no"); on balanced eval sets the majority-label baseline is close to
            1 / labels, so "above chance" asks the model to tell the labels apart.

    Raises:
        ConfigError: on a negative cap or a fraction outside [0, 1].
    """

    train: int = 100
    eval: int = 50
    max_eval_fraction: float = 0.5
    balance_labels: bool = False

    def __post_init__(self) -> None:
        if self.train < 0 or self.eval < 0:
            raise ConfigError(f"instance caps must be >= 0, got train={self.train}, eval={self.eval}")
        if not 0.0 <= self.max_eval_fraction <= 1.0:
            raise ConfigError(f"max_eval_fraction must be in [0, 1], got {self.max_eval_fraction}")


@dataclass(frozen=True, slots=True)
class TaskSplit:
    """One task with its instances divided into train and eval (disjoint, also by input text)."""

    task: Task
    train: tuple[Instance, ...]
    eval: tuple[Instance, ...]

    @property
    def name(self) -> str:
        """The task's name."""
        return self.task.name


@dataclass(frozen=True)
class StudySplit:
    """The tasks and instances a study uses.

    Attributes:
        train_tasks: tasks to instruction-tune on; their eval instances measure MTL generalization.
        held_out_tasks: unseen tasks; train instances feed few-shot fine-tuning and
            demonstrations, eval instances are scored.
        seed: the seed the instance split was drawn with.
    """

    train_tasks: tuple[TaskSplit, ...]
    held_out_tasks: tuple[TaskSplit, ...]
    seed: int

    @property
    def train_names(self) -> tuple[str, ...]:
        """Names of the train tasks, in order."""
        return tuple(t.name for t in self.train_tasks)

    @property
    def held_out_names(self) -> tuple[str, ...]:
        """Names of the held-out tasks, in order."""
        return tuple(t.name for t in self.held_out_tasks)


def task_seed(seed: int, name: str) -> int:
    """A per-task seed from the study seed and the task name (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256(f"instructmtl.split:{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def split_instances(task: Task, caps: InstanceCaps, seed: int) -> TaskSplit:
    """Divides a task's instances into train and eval, deterministically from ``seed`` and the name.

    Instances sharing a (whitespace-normalised) input move together, so an input
    never lands on both sides; instances are ordered by id before shuffling, so
    the file's instance order does not matter either.

    Returns:
        The split; both sides are in shuffled order, so any prefix of ``train`` is a
        random sample (few-shot runs take the first ``n``).
    """
    groups: dict[str, list[Instance]] = {}
    for inst in sorted(task.instances, key=lambda i: i.id):
        groups.setdefault(normalize_text(inst.input), []).append(inst)
    order = list(groups.values())
    random.Random(task_seed(seed, task.name)).shuffle(order)
    n_eval = min(caps.eval, int(len(task.instances) * caps.max_eval_fraction))
    if caps.balance_labels and label_set(task) is not None:
        chosen = _label_balanced(order, n_eval, caps.max_eval_fraction) or _prefix_within(order, n_eval)
    else:
        chosen = _prefix_within(order, n_eval)
    train: list[Instance] = []
    evaluation: list[Instance] = []
    for index, group in enumerate(order):
        (evaluation if index in chosen else train).extend(group)
    return TaskSplit(task=task, train=tuple(train[: caps.train]), eval=tuple(evaluation))


def _prefix_within(order: Sequence[list[Instance]], n_eval: int) -> set[int]:
    """Indices of the groups that fill ``n_eval`` eval places in shuffled order.

    A group that would overflow the places is skipped.
    """
    chosen: set[int] = set()
    taken = 0
    for index, group in enumerate(order):
        if taken + len(group) <= n_eval:
            chosen.add(index)
            taken += len(group)
    return chosen


def _label_balanced(order: Sequence[list[Instance]], n_eval: int, max_fraction: float) -> set[int]:
    """Indices of the groups for a label-balanced eval side: one label at a time, in turn.

    Each label takes its groups in shuffled order, at most ``max_fraction`` of its own
    instances, so a rare label keeps instances to train on; labels take turns until
    ``n_eval`` places are filled or every label reached its share.
    """
    by_label: dict[str, list[int]] = {}
    for index, group in enumerate(order):
        by_label.setdefault(group[0].outputs[0].strip(), []).append(index)
    budget = {label: int(sum(len(order[i]) for i in idx) * max_fraction) for label, idx in by_label.items()}
    queues = {label: list(idx) for label, idx in sorted(by_label.items())}
    chosen: set[int] = set()
    taken = 0
    used = dict.fromkeys(queues, 0)
    progressed = True
    while progressed and taken < n_eval:
        progressed = False
        for label, queue in queues.items():
            while queue and used[label] + len(order[queue[0]]) > budget[label]:
                queue.pop(0)
            if not queue or taken + len(order[queue[0]]) > n_eval:
                continue
            index = queue.pop(0)
            chosen.add(index)
            taken += len(order[index])
            used[label] += len(order[index])
            progressed = True
    return chosen


def partition_by_split(collection: TaskCollection, name: str) -> Split:
    """Train and held-out tasks as listed by the collection's split ``name`` (e.g. SNI ``default``).

    Raises:
        SplitError: listing the known splits when ``name`` is unknown.
    """
    split = collection.split(name)
    return Split(train=split.train, test=split.test)


def partition_by_tasks(
    collection: TaskCollection, held_out: Sequence[str], train: Sequence[str] | None = None
) -> Split:
    """Holds out the named tasks; trains on ``train``, or on every other task when it is ``None``.

    Raises:
        SplitError: for an unknown task name (with close matches) or a task named on both sides.
    """
    for name in [*held_out, *(train or ())]:
        if name not in collection.tasks:
            raise SplitError(
                f"{collection.source}: unknown task '{name}'.{close_matches_hint(name, collection.tasks)} "
                "fix: use a name from `instructmtl tasks list`"
            )
    held = set(held_out)
    rest = tuple(n for n in collection.tasks if n not in held)
    return Split(train=rest if train is None else tuple(train), test=tuple(held_out))


def partition_by_categories(collection: TaskCollection, categories: Sequence[str]) -> Split:
    """Holds out every task with any of ``categories``, so no train task shares a held-out category.

    Raises:
        SplitError: for a category no task has (with close matches).
    """
    known = sorted({c for task in collection.tasks.values() for c in task.categories})
    for category in categories:
        if category not in known:
            raise SplitError(
                f"{collection.source}: no task has category '{category}'.{close_matches_hint(category, known)} "
                f"fix: use one of the {len(known)} categories `instructmtl tasks validate` lists"
            )
    wanted = set(categories)
    held = tuple(n for n, t in collection.tasks.items() if wanted.intersection(t.categories))
    return Split(train=tuple(n for n in collection.tasks if n not in held), test=held)


def _empty_side(collection: TaskCollection, role: str, task_split: TaskSplit, side: str) -> SplitError:
    return SplitError(
        f"{collection.origin(task_split.name)}: {role} task '{task_split.name}' gets no {side} instances "
        f"from its {len(task_split.task.instances)}; fix: raise the caps or max_eval_fraction, add "
        "instances, or drop the task"
    )


def make_study_split(
    collection: TaskCollection,
    partition: Split,
    *,
    seed: int,
    train_caps: InstanceCaps = InstanceCaps(),
    held_out_caps: InstanceCaps = InstanceCaps(),
) -> StudySplit:
    """Splits every chosen task's instances and checks the result for leakage.

    Args:
        collection: the tasks.
        partition: train task names (``partition.train``) and held-out names (``partition.test``).
        seed: the study seed for the instance splits.
        train_caps: caps for train tasks.
        held_out_caps: caps for held-out tasks.

    Returns:
        The study's split, tasks in the partition's order.

    Raises:
        SplitError: when a side is empty, a held-out task gets no eval instance or a
            train task no train instance, or a held-out eval input leaks into training.
    """
    if not partition.train or not partition.test:
        raise SplitError(
            f"{collection.source}: a study needs train and held-out tasks, got {len(partition.train)} train and "
            f"{len(partition.test)} held-out; fix: choose a split, task list or categories that leave both"
        )
    train = tuple(split_instances(collection.task(n), train_caps, seed) for n in partition.train)
    held = tuple(split_instances(collection.task(n), held_out_caps, seed) for n in partition.test)
    for task_split in held:
        if not task_split.eval:
            raise _empty_side(collection, "held-out", task_split, "eval")
    for task_split in train:
        if not task_split.train:
            raise _empty_side(collection, "train", task_split, "train")
    study = StudySplit(train_tasks=train, held_out_tasks=held, seed=seed)
    check_leakage(study, collection)
    return study
