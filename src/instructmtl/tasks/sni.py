"""Loading the official Super-NaturalInstructions repository layout (and single SNI task files).

Layout, as in ``allenai/natural-instructions``::

    <root>/tasks/<task name>.json
    <root>/splits/<split name>/train_tasks.txt   (one task name per line, no ".json")
    <root>/splits/<split name>/test_tasks.txt
    <root>/splits/<split name>/excluded_tasks.txt   (optional)
"""

from __future__ import annotations

from pathlib import Path

from instructmtl.errors import SplitError
from instructmtl.tasks.collection import Split, TaskCollection, close_matches_hint
from instructmtl.tasks.schema import Task
from instructmtl.tasks.validation import fail, read_json, task_from_sni_dict

#: Split side → file name inside ``splits/<name>/``; ``excluded`` may be absent.
SPLIT_FILES = {"train": "train_tasks.txt", "test": "test_tasks.txt", "excluded": "excluded_tasks.txt"}
_REQUIRED_SIDES = ("train", "test")


def read_task_file(path: Path) -> Task:
    """Reads one SNI task file; the task is named after the file.

    Raises:
        TaskFormatError: naming the file and field when it breaks the SNI schema.
    """
    return task_from_sni_dict(read_json(path), path.stem, path)


def load_sni_file(path: Path) -> TaskCollection:
    """A collection holding the one task in SNI task file ``path`` (no splits)."""
    task = read_task_file(path)
    return TaskCollection(tasks={task.name: task}, source=str(path), origins={task.name: str(path)})


def load_sni_dir(root: Path) -> TaskCollection:
    """Loads every ``tasks/*.json`` under ``root`` and every split under ``splits/``.

    Raises:
        TaskFormatError: on the first invalid task file, or when ``tasks/`` holds no task files.
        SplitError: when a split file names a task with no file, or a split folder lacks a file.
    """
    task_dir = root / "tasks"
    files = sorted(task_dir.glob("*.json"))
    if not files:
        fail(task_dir, "<directory>", "holds no .json task files", "put SNI task files in tasks/<name>.json")
    tasks: dict[str, Task] = {}
    origins: dict[str, str] = {}
    for path in files:
        task = read_task_file(path)
        tasks[task.name] = task
        origins[task.name] = str(path)
    splits = read_splits(root / "splits", tasks)
    return TaskCollection(tasks=tasks, splits=splits, source=str(root), origins=origins)


def read_splits(split_root: Path, tasks: dict[str, Task]) -> dict[str, Split]:
    """Every ``<split_root>/<name>/`` folder as a Split (``{}`` when ``split_root`` is absent)."""
    if not split_root.is_dir():
        return {}
    folders = sorted(p for p in split_root.iterdir() if p.is_dir())
    return {folder.name: read_split(folder, tasks) for folder in folders}


def read_split(folder: Path, tasks: dict[str, Task]) -> Split:
    """One split folder; every name it lists must have a task file.

    Raises:
        SplitError: naming the split file and line of a task with no file, or a missing split file.
    """
    for side in _REQUIRED_SIDES:
        if not (folder / SPLIT_FILES[side]).is_file():
            raise SplitError(
                f"{folder}: split has no {SPLIT_FILES[side]}; fix: add it (one task name per line) or remove the folder"
            )
    sides = {
        side: _read_names(folder / filename, tasks)
        for side, filename in SPLIT_FILES.items()
        if (folder / filename).is_file()
    }
    try:
        return Split(**sides)
    except SplitError as err:
        raise SplitError(f"{folder}: {err}") from None


def _read_names(path: Path, tasks: dict[str, Task]) -> tuple[str, ...]:
    names = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name not in tasks:
            raise SplitError(
                f"{path}:{lineno}: task '{name}' has no file tasks/{name}.json.{close_matches_hint(name, tasks)} "
                "fix: add the task file or delete the line"
            )
        names.append(name)
    return tuple(names)
