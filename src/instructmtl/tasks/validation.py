"""Turning untrusted JSON into :class:`~instructmtl.tasks.schema.Task` objects, with one-line errors.

Written by hand rather than with a pydantic model because pydantic's messages
are multi-line, do not name the file, and cannot carry a fix per field; the
CLI prints exactly one :class:`~instructmtl.errors.TaskFormatError` line, so
each check here says file, field and fix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NoReturn

from instructmtl.errors import TaskFormatError
from instructmtl.tasks.schema import Example, Instance, Task

#: Optional SNI header fields that map to tuple-of-string Task fields.
_TEXT_LIST_FIELDS = {
    "Categories": "categories",
    "Source": "source",
    "Input_language": "input_language",
    "Output_language": "output_language",
    "Instruction_language": "instruction_language",
    "Domains": "domains",
}
#: SNI fields kept verbatim (they may hold NaN) but not interpreted.
_METADATA_FIELDS = ("Contributors", "URL", "Reasoning")
_MAX_SHOWN = 50


def describe(value: Any) -> str:
    """A short description of a JSON value for an error message (type and a clipped repr)."""
    if value is None:
        return "null"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    kind = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    text = repr(value)
    clipped = text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
    return f"{kind.get(type(value), type(value).__name__)} {clipped}"


def fail(source: str | Path, field: str, problem: str, fix: str) -> NoReturn:
    """Raises the :class:`TaskFormatError` for ``field`` of ``source``."""
    raise TaskFormatError(source, field, problem, fix)


def read_json(path: Path) -> Any:
    """Parses a JSON file, accepting SNI's bare ``NaN`` values.

    Raises:
        TaskFormatError: naming the line and column of a syntax error, or a non-UTF-8 byte.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        fail(path, "<file>", f"is not UTF-8 text (byte {err.start})", "save the file as UTF-8")
    return parse_json(text, path, "<json>")


def parse_json(text: str, source: str | Path, field: str, first_line: int = 1) -> Any:
    """``json.loads`` whose syntax errors become a one-line TaskFormatError with line and column.

    Args:
        text: the JSON text.
        source: the file it came from.
        field: what the text is (``"<json>"`` for a whole file, ``"row 3"`` for a JSONL line).
        first_line: the line of ``source`` on which ``text`` starts, so positions are the file's.
    """
    try:
        # json.loads accepts NaN on purpose: real SNI files contain "URL": [NaN]
        return json.loads(text)
    except json.JSONDecodeError as err:
        fail(
            source,
            field,
            f"invalid JSON at line {first_line + err.lineno - 1} column {err.colno}: {err.msg}",
            "correct the JSON syntax at that position",
        )


def require_text(value: Any, source: str | Path, field: str, fix: str) -> str:
    """``value`` when it is a string; otherwise a TaskFormatError for ``field``."""
    if not isinstance(value, str):
        fail(source, field, f"must be a string but is {describe(value)}", fix)
    return value


def text_list(value: Any, source: str | Path, field: str) -> tuple[str, ...]:
    """A JSON list of strings as a tuple (SNI header fields such as ``Categories``)."""
    if not isinstance(value, list):
        fail(source, field, f"must be a list of strings but is {describe(value)}", 'write it as ["..."]')
    for i, item in enumerate(value):
        require_text(item, source, f"{field}[{i}]", "use only strings in this list")
    return tuple(value)


def _definition(data: dict[str, Any], source: str | Path) -> str:
    if "Definition" not in data:
        fail(source, "Definition", "is missing", 'add "Definition": ["<what the task asks for>"]')
    value = data["Definition"]
    # SNI stores a list of strings; a few tasks give two phrasings. Tk-Instruct reads only the first;
    # joining keeps both, so nothing the task's author wrote is dropped.
    parts = (value,) if isinstance(value, str) else text_list(value, source, "Definition")
    definition = " ".join(part.strip() for part in parts).strip()
    if not definition:
        fail(source, "Definition", "is empty", "write the instruction that defines the task")
    return definition


def _instance(item: Any, index: int, task_name: str, source: str | Path) -> Instance:
    field = f"Instances[{index}]"
    if not isinstance(item, dict):
        fix = 'write {"id": ..., "input": ..., "output": [...]}'
        fail(source, field, f"must be an object but is {describe(item)}", fix)
    if "input" not in item:
        fail(source, f"{field}.input", "is missing", "add the instance's input text")
    text = require_text(item["input"], source, f"{field}.input", "make the input a JSON string")
    if "output" not in item:
        fail(source, f"{field}.output", "is missing", 'add "output": ["<the expected answer>"]')
    outputs = item["output"]
    if not isinstance(outputs, list):
        problem = f"must be a list of strings but is {describe(outputs)}"
        fail(source, f"{field}.output", problem, 'write "output": ["..."]')
    if not outputs:
        fail(source, f"{field}.output", "is an empty list", "give at least one acceptable output")
    for j, out in enumerate(outputs):
        require_text(out, source, f"{field}.output[{j}]", "make every output a JSON string")
    # older SNI files have no ids; the position makes a stable one
    ident = item.get("id", f"{task_name}-{index}")
    require_text(ident, source, f"{field}.id", "make the id a JSON string")
    return Instance(id=ident, input=text, outputs=tuple(outputs))


def _instances(data: dict[str, Any], task_name: str, source: str | Path) -> tuple[Instance, ...]:
    if "Instances" not in data:
        fail(source, "Instances", "is missing", 'add "Instances": [{"id": ..., "input": ..., "output": [...]}]')
    items = data["Instances"]
    if not isinstance(items, list):
        fail(source, "Instances", f"must be a list but is {describe(items)}", "make Instances a JSON list of objects")
    if not items:
        fail(source, "Instances", "is empty", "add at least one instance")
    instances = tuple(_instance(item, i, task_name, source) for i, item in enumerate(items))
    first_seen: dict[str, int] = {}
    for i, inst in enumerate(instances):
        if inst.id in first_seen:
            fail(
                source,
                f"Instances[{i}].id",
                f"'{inst.id}' repeats the id of Instances[{first_seen[inst.id]}]",
                "give every instance a unique id",
            )
        first_seen[inst.id] = i
    return instances


def _examples(data: dict[str, Any], key: str, source: str | Path) -> tuple[Example, ...]:
    items = data.get(key, [])
    if not isinstance(items, list):
        fix = 'write [{"input": ..., "output": ..., "explanation": ...}]'
        fail(source, key, f"must be a list but is {describe(items)}", fix)
    examples = []
    for i, item in enumerate(items):
        field = f"{key}[{i}]"
        if not isinstance(item, dict):
            fail(source, field, f"must be an object but is {describe(item)}", 'write {"input": ..., "output": ...}')
        for part in ("input", "output"):
            if part not in item:
                fail(source, f"{field}.{part}", "is missing", f"add the example's {part} text")
            require_text(item[part], source, f"{field}.{part}", f"make the example's {part} a JSON string")
        explanation = require_text(item.get("explanation", ""), source, f"{field}.explanation", "make it a string")
        examples.append(Example(input=item["input"], output=item["output"], explanation=explanation))
    return tuple(examples)


def _labels(value: Any, source: str | Path) -> tuple[str, ...]:
    labels = text_list(value, source, "Labels")
    if not labels or len(set(labels)) != len(labels):
        fail(source, "Labels", "must list at least one label, each once", "list each allowed output once")
    return labels


def task_from_sni_dict(data: Any, name: str, source: str | Path) -> Task:
    """Builds a Task from a parsed SNI task file.

    Args:
        data: the parsed JSON document.
        name: the task name (SNI: the file name without ``.json``).
        source: where ``data`` came from, for error messages.

    Returns:
        The task; absent optional header fields take the schema's defaults,
        unknown keys are ignored as SNI readers do.

    Raises:
        TaskFormatError: on the first field that breaks the schema.
    """
    if not isinstance(data, dict):
        fail(source, "<top level>", f"must be a JSON object but is {describe(data)}", "put the task in one JSON object")
    optional: dict[str, Any] = {
        attr: text_list(data[key], source, key) for key, attr in _TEXT_LIST_FIELDS.items() if key in data
    }
    if "Labels" in data:
        optional["labels"] = _labels(data["Labels"], source)
    return Task(
        name=name,
        definition=_definition(data, source),
        instances=_instances(data, name, source),
        positive_examples=_examples(data, "Positive Examples", source),
        negative_examples=_examples(data, "Negative Examples", source),
        metadata={key: data[key] for key in _METADATA_FIELDS if key in data},
        **optional,
    )
