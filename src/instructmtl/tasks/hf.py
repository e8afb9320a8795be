"""Loading tasks from Hugging Face ``datasets``: hub names, local data folders, ``save_to_disk`` folders.

The rows follow the flat format of :mod:`instructmtl.tasks.rows`. ``datasets``
is imported inside the functions because importing it costs about a second,
which every other CLI command would otherwise pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from instructmtl.errors import TaskFormatError
from instructmtl.tasks.collection import TaskCollection
from instructmtl.tasks.rows import check_columns, tasks_from_rows
from instructmtl.tasks.validation import fail

if TYPE_CHECKING:
    import datasets

#: Files that ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` write.
SAVED_MARKERS = ("state.json", "dataset_dict.json")


def is_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``save_to_disk``."""
    return any((path / marker).is_file() for marker in SAVED_MARKERS)


def _one_split(data: datasets.Dataset | datasets.DatasetDict, source: str, split: str | None) -> datasets.Dataset:
    import datasets

    if isinstance(data, datasets.Dataset):
        if split is not None:
            fail(source, "<split>", f"holds a single dataset, not split '{split}'", "drop the split argument")
        return data
    names = ", ".join(data)
    if split is None:
        if len(data) == 1:
            return next(iter(data.values()))
        fail(source, "<split>", f"holds several splits ({names})", "choose one with --hf-split (hf_split=...)")
    if split not in data:
        fail(source, "<split>", f"has no split '{split}' (splits: {names})", "choose one of those splits")
    return data[split]


def _collect(dataset: datasets.Dataset, source: str) -> TaskCollection:
    check_columns(dataset.column_names, source)
    return tasks_from_rows(enumerate(dataset, start=1), source)


def load_saved_dataset(path: Path, split: str | None = None) -> TaskCollection:
    """Tasks from a ``save_to_disk`` folder (a Dataset, or one split of a DatasetDict).

    Raises:
        TaskFormatError: when the split is ambiguous or unknown, or a row is malformed.
    """
    import datasets

    return _collect(_one_split(datasets.load_from_disk(str(path)), str(path), split), str(path))


def load_hub_dataset(name: str, split: str | None = None) -> TaskCollection:
    """Tasks from ``datasets.load_dataset(name)``: a hub id or a local folder of data files.

    Raises:
        TaskFormatError: when the dataset cannot be found or loaded, the split is
            ambiguous or unknown, or a row is malformed.
    """
    import datasets

    source = f"hf:{name}"
    try:
        data = datasets.load_dataset(name, split=split)
    except (FileNotFoundError, ConnectionError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TaskFormatError(
            source,
            "<dataset>",
            f"cannot be loaded ({reason})",
            "check the name or path (hub datasets need network access)",
        ) from None
    return _collect(_one_split(data, source, None), source)
