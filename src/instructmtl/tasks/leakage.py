"""The leakage check: no held-out eval input may also be something the model trains on.

A held-out task's eval score measures learning of an *unseen* task; if its
eval input also appears among the instruction-tuning data (a train task's
train instances, e.g. two SNI tasks built from the same dataset) or among the
instances the task itself is fine-tuned on, the score measures memory instead.
Matching is exact after whitespace normalisation: cheap, with no false alarms
from paraphrase, and it catches the copies that real collections contain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from instructmtl.errors import SplitError

if TYPE_CHECKING:  # selection imports this module to run the check
    from instructmtl.tasks.collection import TaskCollection
    from instructmtl.tasks.selection import StudySplit, TaskSplit


def normalize_text(text: str) -> str:
    """``text`` with every run of whitespace turned into one space and the ends stripped."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Leak:
    """A held-out eval instance whose input is also in training data.

    Attributes:
        task: the held-out task.
        instance_id: its eval instance.
        source_task: the task whose train instance has the same input.
        source_id: that train instance.
    """

    task: str
    instance_id: str
    source_task: str
    source_id: str


def _index(splits: Iterable[TaskSplit]) -> dict[str, tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for task_split in splits:
        for inst in task_split.train:
            seen.setdefault(normalize_text(inst.input), (task_split.name, inst.id))
    return seen


def find_leaks(study: StudySplit) -> list[Leak]:
    """Every held-out eval instance whose input is in the training data, in task order.

    Training data for a held-out task ``t`` is the train tasks' train instances
    plus ``t``'s own train (fine-tuning) instances; another held-out task's
    instances are never trained on together with ``t``'s eval.
    """
    tuned = _index(study.train_tasks)
    leaks = []
    for held_out in study.held_out_tasks:
        own = _index([held_out])
        for inst in held_out.eval:
            key = normalize_text(inst.input)
            hit = tuned.get(key) or own.get(key)
            if hit is not None:
                leaks.append(Leak(held_out.name, inst.id, *hit))
    return leaks


def check_leakage(study: StudySplit, collection: TaskCollection) -> None:
    """Refuses a study whose held-out eval data leaks into training.

    Args:
        study: the split to check.
        collection: where the tasks came from, so the message can name the files to edit.

    Raises:
        SplitError: naming the first leaking instance, its twin, the count, and the fix.
    """
    leaks = find_leaks(study)
    if not leaks:
        return
    first = leaks[0]
    if first.source_task == first.task:
        fix = f"delete one of the two instances from {collection.origin(first.task)}"
    else:
        fix = (
            f"delete one of the two instances ({collection.origin(first.task)}, "
            f"{collection.origin(first.source_task)}) or leave task '{first.source_task}' out of training"
        )
    raise SplitError(
        f"held-out task '{first.task}' eval instance '{first.instance_id}' has the same input as train "
        f"instance '{first.source_id}' of task '{first.source_task}' ({len(leaks)} leaking eval instance(s) "
        f"in all); fix: {fix}"
    )
