"""The built-in suite as SNI data: completeness, determinism, stable numbering and the default split."""

from __future__ import annotations

import random
import re

import pytest

from instructmtl.errors import InstructMTLError, SplitError
from instructmtl.tasks.builtin import (
    DEFAULT_HELDOUT_CATEGORIES,
    DEFAULT_N_TASKS,
    MAX_TASKS,
    build_suite,
    build_world,
    default_split,
    task_specs,
)
from instructmtl.tasks.schema import Task, output_type

N_INSTANCES = 100
WORLD_FAMILIES = {"entity_lookup", "multi_hop_lookup", "attribute_is", "person_lives_in_city", "person_keeps_animal"}


@pytest.fixture(scope="module")
def suite() -> list[Task]:
    return build_suite(n_instances=N_INSTANCES, seed=0)


def test_default_suite_has_many_tasks_over_many_categories(suite: list[Task]) -> None:
    assert len(suite) == DEFAULT_N_TASKS >= 60
    assert len({t.category for t in suite}) >= 10
    kinds = [output_type(t) for t in suite]
    assert kinds.count("classification") >= 15 and kinds.count("generation") >= 15
    assert sum(t.metadata["family"] in WORLD_FAMILIES for t in suite) >= 8


def test_every_task_is_complete_sni_data(suite: list[Task]) -> None:
    for task in suite:
        assert re.fullmatch(r"builtin\d{3}_[a-z0-9_]+", task.name), task.name
        assert task.definition.startswith("In this task, you are given"), task.name
        assert task.source == ("instructmtl builtin",) and len(task.categories) == 1
        assert len(task.positive_examples) == 2 and len(task.negative_examples) == 1
        assert all(ex.explanation for ex in (*task.positive_examples, *task.negative_examples))
        # a lookup over 18 cities keeps only the inputs on its side of the split (see input_side)
        assert 6 <= len(task.instances) <= N_INSTANCES, task.name
        ids = [inst.id for inst in task.instances]
        assert ids == [f"{task.name}-{i}" for i in range(len(ids))]
        inputs = [inst.input for inst in task.instances]
        assert len(set(inputs)) == len(inputs), task.name
        assert not {ex.input for ex in task.positive_examples} & set(inputs), task.name
        assert all(len(inst.outputs) == 1 and inst.outputs[0] for inst in task.instances)
    # only tasks over a small input space (world entities, word lists, halved by input_side) may have fewer
    full = [t for t in suite if len(t.instances) == N_INSTANCES]
    assert len(full) >= 0.5 * len(suite)


def test_negative_example_is_wrong_and_positives_are_right(suite: list[Task]) -> None:
    specs = {s.name: s for s in task_specs(build_world(0))}
    for task in suite:
        negative = task.negative_examples[0]
        truth = {ex.input: ex.output for ex in task.positive_examples}
        assert negative.input in truth and negative.output != truth[negative.input], task.name
        assert negative.explanation.startswith("The output") and truth[negative.input] in negative.explanation
        # a positive explanation is exactly the spec's explanation of that pair
        ex = task.positive_examples[0]
        assert ex.explanation == specs[task.name].explain(ex.input, ex.output)


def test_labels_cover_every_classification_output(suite: list[Task]) -> None:
    classification = [t for t in suite if t.labels is not None]
    assert len(classification) >= 15
    for task in classification:
        outputs = {i.outputs[0] for i in task.instances} | {e.output for e in task.positive_examples}
        assert outputs <= set(task.labels), task.name
        assert len(outputs) >= 2, task.name
        assert task.negative_examples[0].output in task.labels
        assert output_type(task) == "classification"


def test_positive_examples_show_two_different_answers_for_classification(suite: list[Task]) -> None:
    for task in suite:
        if task.labels is not None:
            first, second = task.positive_examples
            assert first.output != second.output, task.name


def test_same_seed_same_suite_different_seed_different_instances() -> None:
    a = build_suite(n_instances=20, seed=3)
    b = build_suite(n_instances=20, seed=3)
    c = build_suite(n_instances=20, seed=4)
    assert a == b
    assert [t.definition for t in a] == [t.definition for t in c]
    changed = sum(x.instances != y.instances for x, y in zip(a, c, strict=True))
    assert changed >= 0.9 * len(a)


def test_building_leaves_the_global_rng_alone() -> None:
    state = random.getstate()
    build_suite(n_tasks=20, n_instances=5, seed=1)
    assert random.getstate() == state


def test_300_tasks_are_distinct_and_contain_the_default_suite_unchanged(suite: list[Task]) -> None:
    big = build_suite(n_tasks=300, n_instances=N_INSTANCES, seed=0)
    assert len(big) == 300
    assert len({t.name for t in big}) == 300
    assert len({t.definition for t in big}) == 300
    assert big[: len(suite)] == suite  # a task's content does not depend on n_tasks
    small = build_suite(n_tasks=7, n_instances=N_INSTANCES, seed=0)
    assert small == suite[:7]


def test_max_tasks_is_large_and_exceeding_it_names_the_maximum() -> None:
    assert MAX_TASKS >= 400
    specs = task_specs(build_world(0), MAX_TASKS)
    assert len({s.name for s in specs}) == MAX_TASKS
    assert len({s.definition for s in specs}) == MAX_TASKS
    with pytest.raises(InstructMTLError, match=str(MAX_TASKS)):
        task_specs(build_world(0), MAX_TASKS + 1)
    with pytest.raises(InstructMTLError, match="n_tasks=0"):
        build_suite(n_tasks=0)
    with pytest.raises(InstructMTLError, match="n_instances"):
        build_suite(n_instances=0)


def test_task_names_do_not_depend_on_the_world() -> None:
    assert [s.name for s in task_specs(build_world(0), 120)] == [s.name for s in task_specs(build_world(5), 120)]


def test_world_seed_changes_lookup_answers_only() -> None:
    a = build_suite(n_instances=10, seed=0, world_seed=0)
    b = build_suite(n_instances=10, seed=0, world_seed=1)
    for x, y in zip(a, b, strict=True):
        if x.metadata["family"] in WORLD_FAMILIES:
            assert x.instances != y.instances, x.name
        else:
            assert x == y, x.name


def test_default_split_holds_out_whole_categories(suite: list[Task]) -> None:
    train, held = default_split(suite)
    by_name = {t.name: t for t in suite}
    assert sorted(train + held) == sorted(by_name) and not set(train) & set(held)
    held_categories = {by_name[n].category for n in held}
    train_categories = {by_name[n].category for n in train}
    assert held_categories == set(DEFAULT_HELDOUT_CATEGORIES)
    assert len(held_categories) >= 3 and not held_categories & train_categories
    assert len(held) >= 10
    assert {output_type(by_name[n]) for n in held} == {"generation", "classification"}
    assert any(by_name[n].metadata["family"] in WORLD_FAMILIES for n in held)


def test_default_split_refuses_a_one_sided_split(suite: list[Task]) -> None:
    trained_only = [t for t in suite if t.category not in DEFAULT_HELDOUT_CATEGORIES]
    with pytest.raises(SplitError, match="held-out"):
        default_split(trained_only)


def test_300_tasks_build_with_their_instances() -> None:
    # its time (about 0.2 s on one core) is a bench figure, not a test
    suite = build_suite(n_tasks=300, n_instances=100, seed=0)
    assert len(suite) == 300 and len({t.name for t in suite}) == 300
    assert all(1 <= len(t.instances) <= 100 for t in suite)  # fewer where a task's input space is small


def test_default_study_split_of_the_builtin_suite_has_no_leakage() -> None:
    from instructmtl.config.tasks import TasksConfig, build_study_split
    from instructmtl.tasks.leakage import find_leaks

    _, study = build_study_split(TasksConfig())
    assert study.held_out_tasks and not find_leaks(study)


def test_held_out_and_trained_tasks_draw_disjoint_inputs_for_any_category_choice() -> None:
    from instructmtl.tasks.builtin.suite import input_side

    chosen = ("Arithmetic", "Cipher")
    tasks = build_suite(n_instances=30, held_out_categories=chosen)
    for task in tasks:
        expected = int(task.category in chosen)
        assert {input_side(i.input) for i in task.instances} == {expected}, task.name
