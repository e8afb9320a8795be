"""A loaded set of tasks plus the named splits that came with it.

Every loader (SNI directory, single file, JSONL/Parquet rows, HF datasets, the
built-in suite) returns a :class:`TaskCollection`, so the rest of the system
never needs to know where tasks came from; ``origins`` keeps that knowledge
only so that later errors (e.g. a leak found by the split) can name the file
to edit.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from instructmtl.errors import SplitError, UnknownNameError
from instructmtl.tasks.schema import Task


def close_matches_hint(name: str, known: Iterable[str]) -> str:
    """`` Did you mean: a, b?`` for a mistyped name, or an empty string.

    Kept next to the collection because split, task and category names are
    looked up here and in :mod:`instructmtl.tasks.selection` alike.
    """
    names = list(known)
    # SNI names are long ("task1390_wscfixed_coreference"); users type the prefix
    prefixed = [n for n in names if n.startswith(name)][:3]
    close = prefixed or difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


@dataclass(frozen=True, slots=True)
class Split:
    """A named division of a collection's tasks, as in SNI's ``splits/<name>/`` folders.

    Attributes:
        train: names of the tasks to instruction-tune on.
        test: names of the held-out tasks.
        excluded: names that belong to neither side (SNI's ``excluded_tasks.txt``).

    Raises:
        SplitError: if a task is on two sides or listed twice.
    """

    train: tuple[str, ...]
    test: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for side, names in self.sides().items():
            for name in names:
                if name in seen:
                    raise SplitError(
                        f"split lists task '{name}' in {seen[name]} and again in {side}; "
                        "fix: keep each task on one side of the split, once"
                    )
                seen[name] = side

    def sides(self) -> dict[str, tuple[str, ...]]:
        """``{"train": ..., "test": ..., "excluded": ...}``, the order of SNI's split files."""
        return {"train": self.train, "test": self.test, "excluded": self.excluded}

    @property
    def names(self) -> tuple[str, ...]:
        """Every task the split mentions, train first."""
        return self.train + self.test + self.excluded


@dataclass(frozen=True)
class TaskCollection:
    """Tasks by name, the splits that ship with them, and where they came from.

    Attributes:
        tasks: task name → task, in load order (the order of files or first rows).
        splits: split name → split (``{}`` when the source defines none).
        source: human-readable description of the source (a path, ``"builtin (seed=0)"``...).
        origins: task name → the file (or file and rows) it was read from, for error messages.

    Raises:
        SplitError: if a split names a task that is not in ``tasks``.
    """

    tasks: dict[str, Task]
    splits: dict[str, Split] = field(default_factory=dict)
    source: str = ""
    origins: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split_name, split in self.splits.items():
            for name in split.names:
                if name not in self.tasks:
                    hint = close_matches_hint(name, self.tasks)
                    raise SplitError(
                        f"{self.source}: split '{split_name}' names task '{name}', which is not in the "
                        f"collection.{hint} fix: add the task or remove it from the split"
                    )

    def __len__(self) -> int:
        return len(self.tasks)

    def split(self, name: str) -> Split:
        """The split called ``name``.

        Raises:
            SplitError: naming the known splits when ``name`` is not one of them.
        """
        try:
            return self.splits[name]
        except KeyError:
            known = ", ".join(sorted(self.splits)) or "none"
            raise SplitError(
                f"{self.source}: unknown split '{name}'.{close_matches_hint(name, self.splits)} "
                f"Known splits: {known}; fix: use one of them or add splits/{name}/ with train_tasks.txt "
                "and test_tasks.txt"
            ) from None

    def task(self, name: str) -> Task:
        """The task called ``name``.

        Raises:
            UnknownNameError: with close matches when no task has that name.
        """
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownNameError(
                f"{self.source}: unknown task '{name}'.{close_matches_hint(name, self.tasks)} "
                "fix: use a name from `instructmtl tasks list`"
            ) from None

    def by_category(self) -> dict[str, tuple[str, ...]]:
        """Category → names of the tasks whose first (SNI) category it is, sorted by category."""
        groups: dict[str, list[str]] = {}
        for task in self.tasks.values():
            groups.setdefault(task.category, []).append(task.name)
        return {cat: tuple(names) for cat, names in sorted(groups.items())}

    def origin(self, name: str) -> str:
        """Where task ``name`` was read from (the collection's source when not recorded)."""
        return self.origins.get(name, self.source)
