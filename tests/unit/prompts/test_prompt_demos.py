"""Demonstration choice: positives first, seeded draws from train instances, no self-demonstration."""

from __future__ import annotations

import pytest

from instructmtl.errors import ConfigError, SplitError
from instructmtl.prompts import TaskPrompter, parse_encoding, select_demonstrations
from instructmtl.tasks.schema import Example, Instance, Task

TRAIN = tuple(Instance(f"t-{i}", f"train input {i}", (f"out {i}", f"alt {i}")) for i in range(8))
EVAL = tuple(Instance(f"e-{i}", f"eval input {i}", (f"eval out {i}",)) for i in range(3))
TASK = Task(
    name="task901_copy",
    definition="Copy the input.",
    positive_examples=(Example("p one", "P1"), Example("p two", "P2")),
    instances=TRAIN + EVAL,
)


def test_positive_examples_come_first_in_file_order() -> None:
    for seed in range(5):
        demos, pool_ids = select_demonstrations(TASK, 2, seed, TRAIN)
        assert demos == TASK.positive_examples
        assert pool_ids == frozenset()  # the pool was not needed


def test_pool_fills_the_rest_deterministically() -> None:
    demos, pool_ids = select_demonstrations(TASK, 4, 0, TRAIN)
    assert demos[:2] == TASK.positive_examples
    # recorded draw for seed 0: a changed RNG or ordering would change the study's prompts
    assert demos[2:] == (Example("train input 3", "out 3"), Example("train input 7", "out 7"))
    assert pool_ids == frozenset(inst.id for inst in TRAIN)
    assert select_demonstrations(TASK, 4, 0, TRAIN)[0] == demos
    assert select_demonstrations(TASK, 4, 0, TRAIN[::-1])[0] == demos  # pool order is irrelevant


def test_different_seeds_draw_different_demonstrations() -> None:
    draws = {select_demonstrations(TASK, 4, seed, TRAIN)[0][2:] for seed in range(10)}
    assert len(draws) > 1


def test_draw_does_not_depend_on_other_tasks() -> None:
    other = Task(name="task902_other", definition="x", instances=TRAIN)
    select_demonstrations(other, 3, 0, TRAIN)
    assert select_demonstrations(TASK, 4, 0, TRAIN)[0][2:] == (
        Example("train input 3", "out 3"),
        Example("train input 7", "out 7"),
    )


def test_too_few_demonstrations_is_a_clear_error() -> None:
    expected = "task901_copy.*2 positive examples and 1 train instances.*lower k"
    with pytest.raises(ConfigError, match=expected):
        select_demonstrations(TASK, 4, 0, TRAIN[:1])


def test_prompter_fixes_one_prefix_per_task_and_seed() -> None:
    prompter = TaskPrompter(TASK, parse_encoding("pos-5"), seed=1, demo_pool=TRAIN)
    prompts = prompter.encode_all(EVAL)
    assert len({p.prefix for p in prompts}) == 1
    assert len(prompts[0].demonstrations) == 5
    assert TaskPrompter(TASK, parse_encoding("pos-5"), seed=1, demo_pool=TRAIN).prefix == prompter.prefix


def test_encoded_instance_is_never_its_own_demonstration() -> None:
    prompter = TaskPrompter(TASK, parse_encoding("def+pos-6"), seed=0, demo_pool=TRAIN)
    for inst in EVAL:
        assert f"Input: {inst.input}." not in prompter.encode(inst).prefix
    # encoding an instance from the pool is a caller bug, whether or not it was drawn
    for inst in TRAIN:
        with pytest.raises(SplitError, match=f"instance '{inst.id}' .* demonstration pool"):
            prompter.encode(inst)


def test_pool_is_unused_and_unchecked_when_positives_suffice() -> None:
    prompter = TaskPrompter(TASK, parse_encoding("def+pos-2"), seed=0, demo_pool=TRAIN)
    prompt = prompter.encode(TRAIN[0])  # fine-tuning on train instances with the task's own examples
    assert prompt.target == " out 0"
    assert "train input" not in prompt.prefix


def test_a_demonstration_example_cannot_be_encoded_with_itself() -> None:
    prompter = TaskPrompter(TASK, parse_encoding("pos-1"), seed=0)
    with pytest.raises(SplitError, match="one of the demonstrations"):
        prompter.encode(TASK.positive_examples[0])
    assert prompter.encode(TASK.positive_examples[1]).target == " P2"
