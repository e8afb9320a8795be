"""Which tasks a run or study uses, and how their instances divide: the ``tasks:`` config section.

Shared by every workflow that touches tasks (tune, icl, transfer, run), so the
train/held-out division and the instance split are made by one function,
:func:`build_study_split`, everywhere.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from instructmtl.tasks.collection import Split, TaskCollection
from instructmtl.tasks.loaders import load_tasks
from instructmtl.tasks.selection import (
    InstanceCaps,
    StudySplit,
    make_study_split,
    partition_by_categories,
    partition_by_split,
    partition_by_tasks,
)


class HeldOutConfig(BaseModel):
    """How held-out tasks are chosen: exactly one of a split name, a task list, or categories."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    split: str | None = "default"
    tasks: list[str] | None = None
    categories: list[str] | None = None
    train_tasks: list[str] | None = Field(None, description="train only on these (default: every other task)")

    @model_validator(mode="after")
    def _exactly_one(self) -> HeldOutConfig:
        chosen = [k for k in ("tasks", "categories") if getattr(self, k) is not None]
        if len(chosen) > 1:
            raise ValueError("give held-out tasks by one of split, tasks or categories, not several")
        return self

    @property
    def mode(self) -> Literal["split", "tasks", "categories"]:
        """Which of the three ways is in use (a list or categories override the split)."""
        if self.tasks is not None:
            return "tasks"
        if self.categories is not None:
            return "categories"
        return "split"


class TasksConfig(BaseModel):
    """The task source, the held-out choice and per-task instance caps."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source: str = "builtin"
    n_tasks: int | None = Field(None, ge=2, description="number of built-in tasks (None: the default suite)")
    n_instances: int | None = Field(
        None, ge=4, description="instances per built-in task (the most, with min_instances)"
    )
    min_instances: int | None = Field(
        None,
        ge=2,
        description="built-in trained tasks get log-uniform sizes from this to n_instances (None: all equal)",
    )
    suite_seed: int = 0
    held_out: HeldOutConfig = HeldOutConfig()
    max_train_instances: int = Field(100, ge=1)
    max_eval_instances: int = Field(50, ge=1)
    held_out_max_train_instances: int = Field(40, ge=0)
    held_out_max_eval_instances: int = Field(50, ge=1)
    held_out_balance_labels: bool = Field(
        False, description="draw held-out classification eval instances label by label (as balanced as the data allow)"
    )
    split_seed: int = 0


def build_study_split(config: TasksConfig) -> tuple[TaskCollection, StudySplit]:
    """Loads the tasks, divides them into train and held-out, splits instances, checks leakage.

    Raises:
        TaskFormatError / SplitError: from loading, division or the leakage check.
    """
    held = config.held_out
    collection = load_tasks(
        config.source,
        seed=config.suite_seed,
        n_instances=config.n_instances,
        n_tasks=config.n_tasks,
        held_out_categories=held.categories,
        min_instances=config.min_instances,
    )
    partition: Split
    if held.mode == "tasks":
        partition = partition_by_tasks(collection, held.tasks or [], held.train_tasks)
    elif held.mode == "categories":
        partition = partition_by_categories(collection, held.categories or [])
    else:
        partition = partition_by_split(collection, held.split or "default")
    if held.train_tasks is not None and held.mode != "tasks":
        partition = partition_by_tasks(collection, list(partition.test), held.train_tasks)
    study = make_study_split(
        collection,
        partition,
        seed=config.split_seed,
        train_caps=InstanceCaps(train=config.max_train_instances, eval=config.max_eval_instances),
        held_out_caps=InstanceCaps(
            train=config.held_out_max_train_instances,
            eval=config.held_out_max_eval_instances,
            balance_labels=config.held_out_balance_labels,
        ),
    )
    return collection, study
