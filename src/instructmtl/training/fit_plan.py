"""Which train instances MTL fit is measured on, for the base model and for each checkpoint.

MTL fit is NLL on instances a checkpoint was trained on. Every arm of one seed
draws a task's examples in the same order (:func:`~instructmtl.training.data.epoch_order`),
so "the first ``m`` distinct instances drawn" is one fixed set per (seed, task):
a checkpoint that drew at least that many from the task was trained on exactly
that set, and the base model is scored on the same set, so fit is compared
instance for instance. A checkpoint that drew fewer from a task (a rare task
early in a run) is not scored on it: scoring instances it never saw would
measure generalization, not fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from instructmtl.tasks.selection import TaskSplit
from instructmtl.training.data import first_drawn_instances


@dataclass(frozen=True)
class FitPlan:
    """The fit instances per task, and what was left out.

    Attributes:
        instances: task → ids to score (the first ``m`` distinct instances the seed draws).
        skipped: tasks whose planned instances the checkpoint did not all draw; many of
            them at a final checkpoint mean the run trained on few of its tasks, or that the
            draw order here and in the trainer disagree (the validity check reads this).
    """

    instances: dict[str, list[str]]
    skipped: tuple[str, ...]

    def summary(self) -> dict[str, object]:
        """A JSON-able record for the results store (read by the validity checks)."""
        return {
            "tasks": len(self.instances),
            "instances": sum(len(v) for v in self.instances.values()),
            "skipped": list(self.skipped),
        }


def fit_plan(
    tasks: Sequence[TaskSplit],
    encodings: Sequence[str],
    seed: int,
    m: int,
    drawn: Mapping[str, Sequence[str]] | None,
) -> FitPlan:
    """The MTL-fit instances of one model.

    Args:
        tasks: the seen tasks fit is measured on.
        encodings: the training encodings (each train instance is one example per encoding).
        seed: the tuning seed, which fixes the draw order.
        m: instances per task.
        drawn: the checkpoint's record of drawn instances (task → ids in first-drawn order);
            ``None`` for the base model.
    """
    instances: dict[str, list[str]] = {}
    skipped: list[str] = []
    for split in tasks:
        example_ids = [inst.id for _ in encodings for inst in split.train]
        if not example_ids:
            continue
        planned = first_drawn_instances(seed, split.name, example_ids, m)
        if drawn is not None and not set(drawn.get(split.name, ())).issuperset(planned):
            skipped.append(split.name)
            continue
        instances[split.name] = planned
    return FitPlan(instances, tuple(skipped))
