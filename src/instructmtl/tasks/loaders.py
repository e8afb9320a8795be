"""One entry point, :func:`load_tasks`, that reads a task collection from any supported source.

The source is a single string so that configs and the CLI can name any of
them the same way:

- ``"builtin"``: the built-in suite, generated from a seed;
- a folder in the official SNI layout (``tasks/*.json`` + ``splits/``);
- a ``save_to_disk`` folder of HF ``datasets``;
- a ``.json`` SNI task file, a ``.jsonl`` or ``.parquet`` table (one instance per row);
- ``"hf:<name>"``: anything ``datasets.load_dataset`` accepts (hub id, local data folder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from instructmtl.tasks.collection import Split, TaskCollection
from instructmtl.tasks.hf import is_saved_dataset, load_hub_dataset, load_saved_dataset
from instructmtl.tasks.rows import load_jsonl, load_parquet
from instructmtl.tasks.sni import load_sni_dir, load_sni_file
from instructmtl.tasks.validation import fail

BUILTIN = "builtin"
HF_PREFIX = "hf:"
#: File suffix → loader for single-file sources.
FILE_LOADERS: dict[str, Callable[[Path], TaskCollection]] = {
    ".json": load_sni_file,
    ".jsonl": load_jsonl,
    ".parquet": load_parquet,
}
_SOURCES_HINT = (
    "give 'builtin', an SNI folder (tasks/*.json), a .json/.jsonl/.parquet file, "
    "a datasets save_to_disk folder, or 'hf:<dataset>'"
)


def load_builtin(
    seed: int,
    n_instances: int | None = None,
    n_tasks: int | None = None,
    held_out_categories: Sequence[str] | None = None,
    min_instances: int | None = None,
) -> TaskCollection:
    """The built-in suite as a collection with its ``default`` split.

    Args:
        seed: the suite's seed; the same seed gives the same tasks.
        n_instances: instances generated per task; ``None`` keeps the suite's own default.
        n_tasks: how many tasks (``None``: the default suite); larger values reach the
            paper's regime of hundreds of tasks.
        held_out_categories: the categories a study will hold out, so their tasks draw
            inputs disjoint from the trained tasks' (``None``: the default split's).
    """
    # imported here: the built-in suite imports the schema from this package, and
    # loading SNI files should not pay for generating tasks
    from instructmtl.tasks.builtin import build_suite, default_split

    # pass only what the caller chose, so the suite's default lives in one place
    sizing: dict[str, Any] = {} if n_instances is None else {"n_instances": n_instances}
    if held_out_categories is not None:
        sizing["held_out_categories"] = tuple(held_out_categories)
    if min_instances is not None:
        sizing["min_instances"] = min_instances
    tasks = build_suite(n_tasks=n_tasks, seed=seed, **sizing)
    by_name = {task.name: task for task in tasks}
    train, test = default_split(tasks)
    sizes = (("n_instances", n_instances), ("n_tasks", n_tasks))
    options = [f"seed={seed}"] + [f"{k}={v}" for k, v in sizes if v is not None]
    source = f"{BUILTIN} ({', '.join(options)})"
    return TaskCollection(
        tasks=by_name,
        splits={"default": Split(train=tuple(train), test=tuple(test))},
        source=source,
        origins={name: source for name in by_name},
    )


def load_tasks(
    source: str | Path,
    *,
    seed: int = 0,
    n_instances: int | None = None,
    n_tasks: int | None = None,
    held_out_categories: Sequence[str] | None = None,
    hf_split: str | None = None,
    min_instances: int | None = None,
) -> TaskCollection:
    """Loads a task collection from ``source`` (see the module docstring for the forms).

    Args:
        source: where the tasks are.
        seed: seed of the built-in suite (ignored by file sources, which are data).
        n_instances: instances per built-in task, ``None`` for the suite's default
            (ignored by file sources).
        n_tasks: number of built-in tasks, ``None`` for the default suite (ignored by file sources).
        held_out_categories: categories a study holds out of the built-in suite (see
            :func:`load_builtin`; ignored by file sources).
        hf_split: which split of a multi-split HF dataset holds the rows.
        min_instances: built-in trained tasks get log-uniform sizes from this to
            ``n_instances`` (ignored by file sources, whose sizes are the data's).

    Returns:
        The collection; ``splits`` holds the source's named splits, if any.

    Raises:
        TaskFormatError: when the source does not exist, has an unknown form, or
            any task in it breaks the schema (the first such problem).
        SplitError: when a split file names a task that is not there.
    """
    text = str(source)
    if text == BUILTIN:
        return load_builtin(seed, n_instances, n_tasks, held_out_categories, min_instances)
    if text.startswith(HF_PREFIX):
        return load_hub_dataset(text[len(HF_PREFIX) :], split=hf_split)
    path = Path(text)
    if not path.exists():
        fail(text, "<source>", "no such file or folder", _SOURCES_HINT)
    if path.is_dir():
        if (path / "tasks").is_dir():
            return load_sni_dir(path)
        if is_saved_dataset(path):
            return load_saved_dataset(path, split=hf_split)
        fail(text, "<source>", "is a folder with neither tasks/ nor a saved dataset", _SOURCES_HINT)
    loader = FILE_LOADERS.get(path.suffix.lower())
    if loader is None:
        fail(text, "<source>", f"has the unsupported suffix '{path.suffix}'", _SOURCES_HINT)
    return loader(path)
