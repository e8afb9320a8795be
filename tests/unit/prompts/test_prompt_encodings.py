"""Encoding names and the exact prompt text of every encoding (golden strings).

The ``def+pos-2`` strings are Tk-Instruct's ``DataCollatorForNI`` layout
(allenai/tk-instruct ``src/ni_collator.py``): "Definition: " and a period rule,
" Positive Example i -", "Input: ", " Output: ", "Now complete the following
example -", "Output: ". Ours moves the space after the final "Output:" into the
target; ``text + target`` must still equal Tk-Instruct's ``source + label``.
"""

from __future__ import annotations

import re

import pytest

from instructmtl.errors import ConfigError, UnknownNameError
from instructmtl.prompts import (
    ENCODINGS,
    END_OF_TARGET,
    EncodingSpec,
    TaskPrompter,
    cut_generation,
    encode,
    parse_encoding,
    task_identifier,
)
from instructmtl.tasks.schema import Example, Instance, Task

TASK = Task(
    name="task900_word_reverse",
    definition="  Reverse the order of the words in the sentence ",
    positive_examples=(
        Example("the cat sat", "sat cat the", "words in reverse"),
        Example("Is it on?", "on it Is?"),
        Example("a b c", "c b a"),
    ),
    instances=(
        Instance("task900-1", " red green blue \n", ("blue green red", "blue, green, red")),
        Instance("task900-2", "one two", ("two one",)),
    ),
)

QUERY = "Now complete the following example -\nInput: red green blue.\nOutput:"
DEMOS = (
    " Positive Example 1 -\nInput: the cat sat.\n Output: sat cat the.\n\n"
    " Positive Example 2 -\nInput: Is it on?\n Output: on it Is?\n\n"
)
DEFINITION = "Definition: Reverse the order of the words in the sentence.\n\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("def", EncodingSpec("def", 0)),
        ("id", EncodingSpec("id", 0)),
        ("pos-4", EncodingSpec("pos", 4)),
        ("pos4", EncodingSpec("pos", 4)),
        ("def+pos2", EncodingSpec("def+pos", 2)),
        ("def+pos-2", EncodingSpec("def+pos", 2)),
        ("def+pos-0", EncodingSpec("def+pos", 0)),
        (" pos-12 ", EncodingSpec("pos", 12)),
    ],
)
def test_names_parse_into_encoding_and_count(name: str, expected: EncodingSpec) -> None:
    assert parse_encoding(name) == expected


def test_canonical_names() -> None:
    assert parse_encoding("def+pos2").name == "def+pos-2"
    assert parse_encoding("pos4").name == "pos-4"
    assert str(parse_encoding("def")) == "def"
    assert {"id", "def", "pos", "def+pos"} <= set(ENCODINGS.names())


@pytest.mark.parametrize(("name", "suggestion"), [("defn", "def"), ("def+pso2", "def+pos"), ("ids", "id")])
def test_unknown_name_lists_close_matches(name: str, suggestion: str) -> None:
    with pytest.raises(UnknownNameError, match=f"Did you mean: .*{re.escape(suggestion)}") as info:
        parse_encoding(name)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_count_missing_or_not_allowed() -> None:
    with pytest.raises(ConfigError, match="needs a demonstration count; write e.g. 'pos-2'"):
        parse_encoding("pos")
    with pytest.raises(ConfigError, match="'def' takes no demonstrations"):
        parse_encoding("def-2")
    with pytest.raises(UnknownNameError, match="unknown prompt encoding 'id-'"):
        parse_encoding("id-")


def _prompt(name: str):
    return TaskPrompter(TASK, parse_encoding(name), seed=0).encode(TASK.instances[0])


def test_def_pos2_is_tk_instruct_layout() -> None:
    prompt = _prompt("def+pos2")
    assert prompt.prefix == DEFINITION + DEMOS
    assert prompt.query == QUERY
    assert prompt.text == DEFINITION + DEMOS + QUERY
    # multiple acceptable outputs: the first one, with the separating space
    assert prompt.target == " blue green red"
    tk_instance = "Now complete the following example -\nInput: red green blue.\nOutput: "
    tk_source = DEFINITION + DEMOS + tk_instance
    assert prompt.text + prompt.target == tk_source + "blue green red"


def test_def_is_definition_only() -> None:
    prompt = _prompt("def")
    assert prompt.prefix == DEFINITION
    assert prompt.text == DEFINITION + QUERY
    assert prompt.demonstrations == ()


def test_pos2_is_demonstrations_only() -> None:
    prompt = _prompt("pos-2")
    assert prompt.text == DEMOS + QUERY
    assert "Definition" not in prompt.text
    assert prompt.target == " blue green red"


def test_id_is_identifier_and_input_only() -> None:
    prompt = _prompt("id")
    assert prompt.text == "Task: task-df82d9e8.\n\n" + QUERY
    assert task_identifier(TASK.name) == "task-df82d9e8"
    assert task_identifier("task901_other") != task_identifier(TASK.name)
    assert "reverse" not in prompt.text.lower()  # the name would give the task away


def test_every_instance_shares_the_prefix() -> None:
    prompter = TaskPrompter(TASK, parse_encoding("def+pos-2"), seed=3)
    prompts = prompter.encode_all(TASK.instances)
    assert {p.prefix for p in prompts} == {prompter.prefix}
    assert prompts[1].query == "Now complete the following example -\nInput: one two.\nOutput:"
    assert [p.instance_id for p in prompts] == ["task900-1", "task900-2"]
    assert {p.encoding for p in prompts} == {"def+pos-2"}


def test_a_task_example_can_be_encoded() -> None:
    prompt = encode(TASK, TASK.positive_examples[2], parse_encoding("def"), demos=())
    assert prompt.instance_id == ""
    assert prompt.query.endswith("Input: a b c.\nOutput:")
    assert prompt.target == " c b a"


def test_encode_checks_the_demonstration_count() -> None:
    with pytest.raises(ValueError, match="shows 2 demonstrations, got 1"):
        encode(TASK, TASK.instances[0], parse_encoding("pos-2"), demos=TASK.positive_examples[:1])


def test_end_of_target_convention_round_trips() -> None:
    prompt = _prompt("def+pos-2")
    assert prompt.completion == " blue green red" + END_OF_TARGET
    assert not prompt.target.endswith(END_OF_TARGET)
    # what a model trained on `text + completion` generates, then keeps going
    generated = prompt.completion + " Positive Example 3 -\n"
    assert cut_generation(generated) == "blue green red"
    assert cut_generation("\nanything") == ""
