"""Study setup facts: leaks are found and refused, arms are compared, chance is the majority label."""

from __future__ import annotations

import pytest

from instructmtl.corpus import LeakageError
from instructmtl.corpus.scan import HeldOutInstance, scan_documents
from instructmtl.study.corpus_facts import raise_for_pairs, scan_fact
from instructmtl.study.setup_facts import arm_differences, chance_levels, demonstration_leaks
from instructmtl.tasks.schema import Example, Instance, Task
from instructmtl.tasks.selection import TaskSplit
from instructmtl.training.config import ArmConfig

HELD = [HeldOutInstance("sorting", "sorting-3", "c a b", "a b c"), HeldOutInstance("sign", "sign-1", "-4", "negative")]


def test_a_replay_document_showing_a_held_out_pair_is_a_one_line_error_naming_its_source() -> None:
    docs = [
        ("replay text (builtin corpus, seed 0)", "x -> y\nc a b -> a b c\n"),
        ("replay text (builtin corpus, seed 0)", "the list c a b was sorted, a b c"),
    ]
    report = scan_documents(docs, HELD, source="replay text")
    fact = scan_fact(report)
    assert fact["hits"] == 1 and fact["co_occurrences"] == 2 and "sorting/sorting-3" in fact["detail"]
    with pytest.raises(
        LeakageError,
        match=r"sorting instance sorting-3 .*replay text \(builtin corpus, seed 0\) "
        r"\(document 0\)",
    ) as err:
        raise_for_pairs(report)
    assert "\n" not in str(err.value)
    clean = scan_documents(docs[1:], HELD, source="replay text")
    assert scan_fact(clean)["hits"] == 0
    raise_for_pairs(clean)  # a co-occurrence alone is reported, not refused


def test_demonstrations_that_show_an_eval_input_are_found() -> None:
    evals = (Instance("t-0", "ab", ("ba",)), Instance("t-1", "cd", ("dc",)))
    task = Task(
        name="t", definition="d", instances=evals, categories=("C",), positive_examples=(Example("cd", "dc", "e"),)
    )
    assert demonstration_leaks([TaskSplit(task, (), evals)]) == ["t/t-1"]


def test_arm_differences_count_group_restriction_as_a_second_thing() -> None:
    base = ArmConfig(name="p")
    assert arm_differences(ArmConfig(name="u", sampler="uniform"), base) == ["sampler"]
    assert arm_differences(ArmConfig(name="g", aggregator="upgrad", groups="category"), base) == ["aggregator"]
    restricted = ArmConfig(name="g4", aggregator="upgrad", groups="category", groups_per_step=4)
    assert arm_differences(restricted, base) == ["groups per step (which tasks a step mixes)", "aggregator"]


def test_chance_is_the_majority_labels_share() -> None:
    evals = tuple(Instance(f"t-{i}", f"in {i}", (label,)) for i, label in enumerate("yes yes yes no".split()))
    task = Task(name="t", definition="d", instances=evals, categories=("C",))
    assert chance_levels([TaskSplit(task, (), evals)]) == {
        "t": {"metric": "accuracy", "value": 0.75, "baseline": "majority label"}
    }


def test_generation_chance_is_the_better_of_echo_and_constant_answer() -> None:
    # sorting reuses the input's words: echoing scores a ROUGE-L that a model must beat
    evals = (Instance("s-0", "c a b", ("a b c",)), Instance("s-1", "z y", ("y z",)))
    train = (Instance("s-2", "q p", ("p q",)),)
    sort = Task(name="sort", definition="d", instances=evals + train, categories=("C",))
    level = chance_levels([TaskSplit(sort, train, evals)])["sort"]
    assert level["metric"] == "rouge_l" and level["baseline"] == "echo input"
    assert level["value"] == pytest.approx((2 / 3 + 0.5) / 2)  # LCS 2 of 3 tokens; 1 of 2
    # a constant task answer beats echoing when inputs share no word with outputs
    evals = (
        Instance("c-0", "one", ("always here",)),
        Instance("c-1", "two", ("always there",)),
        Instance("c-2", "four", ("different words",)),
    )
    train = (Instance("c-3", "three", ("always here",)), Instance("c-4", "five", ("always here",)))
    const = Task(name="const", definition="d", instances=evals + train, categories=("C",))
    level = chance_levels([TaskSplit(const, train, evals)])["const"]
    assert level["baseline"] == "constant answer"
    assert level["value"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)


def _study(tiny_lm_dir, trained_inputs_only: bool):  # type: ignore[no-untyped-def]
    from instructmtl.study.config import StudyConfig

    replay = {
        "ratio": 4.0,
        "block_len": 64,
        "corpus": {
            "kind": "builtin",
            "trained_inputs_only": trained_inputs_only,
            "patterns_weight": 1.0,
            "facts_weight": 0.0,
            "lookup_weight": 0.0,
        },
    }
    return StudyConfig.model_validate(
        {
            "base": {"name_or_path": str(tiny_lm_dir), "device": "cpu"},
            "seeds": [0],
            "tasks": {"n_tasks": 64, "n_instances": 40, "held_out": {"categories": ["Word Classification"]}},
            "tune": {"steps": 40, "batch_size": 16},
            "arms": [{"name": "p"}, {"name": "p-replay", "replay": replay}],
        }
    )


def test_study_setup_scans_replay_text_and_refuses_a_leak(tiny_lm_dir) -> None:  # type: ignore[no-untyped-def]
    from instructmtl.config.tasks import build_study_split
    from instructmtl.study.corpus_facts import record_corpus_facts

    facts: dict[str, object] = {}
    leaky = _study(tiny_lm_dir, trained_inputs_only=False)
    _, split = build_study_split(leaky.tasks)
    with pytest.raises(LeakageError, match=r"appears as an input-output pair in replay text"):
        record_corpus_facts(leaky, split, leaky.base, [], facts.__setitem__)
    assert facts["leakage.replay.p-replay-seed0"]["hits"] > 0  # recorded before the error
    assert facts["leakage.pretraining"]["checked"] is False  # a model without a pretraining record
    clean = _study(tiny_lm_dir, trained_inputs_only=True)
    facts.clear()
    record_corpus_facts(clean, split, clean.base, [], facts.__setitem__)
    assert facts["leakage.replay.p-replay-seed0"]["hits"] == 0
    assert facts["leakage.replay.p-replay-seed0"]["documents"] > 500
    assert 0 < facts["replay.held_out_share.p-replay"]["share"] < 0.5
