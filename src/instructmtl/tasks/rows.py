"""Loading tasks from flat tables: one instance per row (JSONL, Parquet, HF ``datasets``).

Columns: ``task``, ``definition``, ``input``, ``output`` or ``outputs`` (a
string or a list of strings), optional ``category`` and ``id``. Rows are
grouped into tasks by ``task`` in order of first appearance; every row of a
task must repeat the same definition and category, because a silently
different definition would change what the model is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructmtl.errors import TaskFormatError
from instructmtl.tasks.collection import TaskCollection
from instructmtl.tasks.schema import Instance, Task
from instructmtl.tasks.validation import describe, fail, parse_json, require_text

REQUIRED_COLUMNS = ("task", "definition", "input")
OUTPUT_COLUMNS = ("output", "outputs")


@dataclass
class _TaskRows:
    """A task being assembled from its rows (mutable only while loading)."""

    definition: str
    category: str | None
    first_row: int
    instances: list[Instance] = field(default_factory=list)
    id_rows: dict[str, int] = field(default_factory=dict)


def _present(row: Mapping[str, Any], column: str) -> bool:
    # Parquet and datasets fill a column missing from some rows with None
    return row.get(column) is not None


def _outputs(row: Mapping[str, Any], where: str, source: str) -> tuple[str, ...]:
    present = [c for c in OUTPUT_COLUMNS if _present(row, c)]
    if len(present) != 1:
        problem = "has both 'output' and 'outputs'" if present else "has no 'output' (or 'outputs') value"
        fail(source, "output", f"{where} {problem}", "give each row exactly one of the two columns")
    value = row[present[0]]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        fail(source, present[0], f"{where} is {describe(value)}", "use a string or a non-empty list of strings")
    for item in values:
        require_text(item, source, present[0], f"{where}: make every output a string")
    return tuple(values)


def _row_instance(row: Mapping[str, Any], number: int, name: str, source: str) -> Instance:
    where = f"row {number}"
    text = require_text(row["input"], source, "input", f"{where}: make the input a string")
    ident = row.get("id")
    if ident is None:
        ident = f"{name}-{number}"  # the row number is a stable id when the table has none
    elif isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    require_text(ident, source, "id", f"{where}: make the id a string or an integer")
    return Instance(id=ident, input=text, outputs=_outputs(row, where, source))


def _check_same(column: str, first: Any, first_row: int, value: Any, number: int, source: str) -> None:
    if first != value:
        fail(
            source,
            column,
            f"row {number} gives {describe(value)} but row {first_row} of the same task gave {describe(first)}",
            f"give every row of a task the same {column}",
        )


def check_columns(columns: Iterable[str], source: str) -> None:
    """Fails early, listing the columns there are, when a table lacks a required column.

    Raises:
        TaskFormatError: naming the missing column.
    """
    present = list(columns)
    for column in REQUIRED_COLUMNS:
        if column not in present:
            fail(source, column, f"no such column (columns: {', '.join(present)})", f"add a '{column}' column")
    if not any(column in present for column in OUTPUT_COLUMNS):
        fail(source, "output", f"no 'output' or 'outputs' column (columns: {', '.join(present)})", "add one")


def _add_row(groups: dict[str, _TaskRows], number: int, row: Mapping[str, Any], source: str) -> None:
    for column in REQUIRED_COLUMNS:
        if not _present(row, column):
            fail(source, column, f"row {number} has no '{column}' value", f"add '{column}' to every row")
    name = require_text(row["task"], source, "task", f"row {number}: make the task name a string")
    definition = require_text(row["definition"], source, "definition", f"row {number}: use a string")
    category = row.get("category")
    if category is not None:
        require_text(category, source, "category", f"row {number}: use a string")
    group = groups.setdefault(name, _TaskRows(definition=definition, category=category, first_row=number))
    _check_same("definition", group.definition, group.first_row, definition, number, source)
    _check_same("category", group.category, group.first_row, category, number, source)
    instance = _row_instance(row, number, name, source)
    if instance.id in group.id_rows:
        problem = f"row {number} repeats id '{instance.id}' of row {group.id_rows[instance.id]}"
        fail(source, "id", problem, "give every instance of a task a unique id")
    group.id_rows[instance.id] = number
    group.instances.append(instance)


def tasks_from_rows(rows: Iterable[tuple[int, Mapping[str, Any]]], source: str) -> TaskCollection:
    """Groups numbered rows into tasks.

    Args:
        rows: ``(row number, row)`` pairs; the number is what error messages show
            (1-based line for JSONL, 1-based row index for tables).
        source: the file or dataset name, for error messages and origins.

    Raises:
        TaskFormatError: naming the row and column of the first bad row, or when there are no rows.
    """
    groups: dict[str, _TaskRows] = {}
    for number, row in rows:
        _add_row(groups, number, row, source)
    if not groups:
        fail(source, "<rows>", "holds no rows", "add one row per instance")
    tasks = {
        name: Task(
            name=name,
            definition=g.definition,
            instances=tuple(g.instances),
            categories=() if g.category is None else (g.category,),
        )
        for name, g in groups.items()
    }
    return TaskCollection(tasks=tasks, source=source, origins={name: source for name in tasks})


def _jsonl_rows(path: Path) -> Iterable[tuple[int, Mapping[str, Any]]]:
    try:
        # split on "\n" only: str.splitlines would also split at U+2028, which JSON strings may hold raw
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as err:
        fail(path, "<file>", f"is not UTF-8 text (byte {err.start})", "save the file as UTF-8")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = parse_json(line, path, f"row {number}", first_line=number)
        if not isinstance(row, dict):
            problem = f"must be a JSON object but is {describe(row)}"
            fail(path, f"row {number}", problem, "write one object per line")
        yield number, row


def load_jsonl(path: Path) -> TaskCollection:
    """Tasks from a JSON-lines file, one instance per line (error rows are line numbers).

    Raises:
        TaskFormatError: on the first malformed line or row.
    """
    return tasks_from_rows(_jsonl_rows(path), str(path))


def load_parquet(path: Path) -> TaskCollection:
    """Tasks from a Parquet file, one instance per row (error rows count from 1).

    Raises:
        TaskFormatError: when the file is not Parquet or a row is malformed.
    """
    import pyarrow as pa  # imported here: pyarrow is only needed for this format and slows CLI start
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except pa.ArrowException as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        problem = f"cannot be read as Parquet ({first_line})"
        raise TaskFormatError(path, "<file>", problem, "write a Parquet file") from None
    check_columns(table.column_names, str(path))
    return tasks_from_rows(enumerate(table.to_pylist(), start=1), str(path))
