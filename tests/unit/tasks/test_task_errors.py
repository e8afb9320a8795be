"""Each broken fixture fails with its own one-line message naming the file, the field and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from instructmtl.errors import InstructMTLError, SplitError, TaskFormatError
from instructmtl.tasks import load_tasks

# (fixture under tests/fixtures/broken, error type, substrings that must appear: the file, the field, the problem)
CASES = [
    ("bad_json.json", TaskFormatError, ["bad_json.json", "'<json>'", "line 4 column 16"]),
    ("missing_definition.json", TaskFormatError, ["missing_definition.json", "'Definition'", "is missing"]),
    ("empty_definition.json", TaskFormatError, ["empty_definition.json", "'Definition'", "is empty"]),
    ("empty_instances.json", TaskFormatError, ["empty_instances.json", "'Instances'", "is empty"]),
    ("instance_no_output.json", TaskFormatError, ["instance_no_output.json", "'Instances[1].output'", "missing"]),
    ("empty_output_list.json", TaskFormatError, ["empty_output_list.json", "'Instances[0].output'", "empty list"]),
    ("non_string_output.json", TaskFormatError, ["non_string_output.json", "'Instances[0].output[0]'", "a number 3"]),
    ("output_not_list.json", TaskFormatError, ["output_not_list.json", "'Instances[0].output'", "list of strings"]),
    (
        "duplicate_ids.json",
        TaskFormatError,
        ["duplicate_ids.json", "'Instances[2].id'", "repeats the id of Instances[0]"],
    ),
    ("missing_input.json", TaskFormatError, ["missing_input.json", "'Instances[0].input'", "is missing"]),
    ("nan_input.json", TaskFormatError, ["nan_input.json", "'Instances[0].input'", "is NaN"]),
    ("top_level_list.json", TaskFormatError, ["top_level_list.json", "'<top level>'", "JSON object"]),
    ("example_missing_output.json", TaskFormatError, ["example_missing_output.json", "'Positive Examples[0].output'"]),
    ("bad_labels.json", TaskFormatError, ["bad_labels.json", "'Labels'", "list of strings"]),
    ("categories_not_list.json", TaskFormatError, ["categories_not_list.json", "'Categories'", "list of strings"]),
    ("sni_bad_task_file", TaskFormatError, ["tasks/broken.json", "'Instances[0].output[0]'", "null"]),
    ("empty_tasks_folder", TaskFormatError, ["empty_tasks_folder/tasks", "no .json task files"]),
    ("no_tasks_folder", TaskFormatError, ["no_tasks_folder", "'<source>'", "neither tasks/"]),
    ("split_missing_task", SplitError, ["test_tasks.txt:2", "'copi'", "Did you mean: copy?"]),
    ("split_missing_test_file", SplitError, ["split_missing_test_file/splits/default", "no test_tasks.txt"]),
    ("split_task_twice", SplitError, ["split_task_twice/splits/default", "'upper' in train and again in test"]),
    ("missing_column.jsonl", TaskFormatError, ["missing_column.jsonl", "'definition'", "row 3"]),
    ("bad_line.jsonl", TaskFormatError, ["bad_line.jsonl", "'row 2'", "line 2 column 66"]),
    (
        "inconsistent_definition.jsonl",
        TaskFormatError,
        ["inconsistent_definition.jsonl", "'definition'", "row 2", "row 1"],
    ),
    ("empty_outputs.jsonl", TaskFormatError, ["empty_outputs.jsonl", "'outputs'", "row 2"]),
    ("both_output_columns.jsonl", TaskFormatError, ["both_output_columns.jsonl", "'output'", "row 1 has both"]),
    ("duplicate_row_ids.jsonl", TaskFormatError, ["duplicate_row_ids.jsonl", "'id'", "row 2 repeats id 'x' of row 1"]),
    ("row_not_object.jsonl", TaskFormatError, ["row_not_object.jsonl", "'row 2'", "JSON object"]),
    ("unsupported.csv", TaskFormatError, ["unsupported.csv", "'<source>'", "'.csv'"]),
]


@pytest.mark.parametrize(("fixture", "error", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_fixture_gives_its_message(
    broken_dir: Path, fixture: str, error: type[InstructMTLError], expected: list[str]
) -> None:
    with pytest.raises(error) as info:
        load_tasks(broken_dir / fixture)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "\n" not in message
    assert "fix: " in message


def test_every_broken_fixture_is_covered(broken_dir: Path) -> None:
    assert sorted(p.name for p in broken_dir.iterdir()) == sorted(c[0] for c in CASES)
