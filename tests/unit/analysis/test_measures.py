"""Derived transfer, the primary-metric choice and checkpoint selection."""

from __future__ import annotations

import pytest

from instructmtl.analysis import QUANTITIES, ResultTable, ScoreRecord, at_earliest, at_final
from instructmtl.errors import InstructMTLError


def _r(
    arm: str,
    step: int,
    measure: str,
    metric: str,
    value: float,
    *,
    seed: int = 0,
    k: int = 5,
    task: str = "t",
    encoding: str = "task_id",
) -> ScoreRecord:
    return ScoreRecord(arm, seed, step, step / 100, task, "held_out", measure, encoding, k, metric, value, "c")


def test_transfer_is_finetune_minus_the_base_of_the_same_seed_task_encoding_n_and_metric() -> None:
    table = ResultTable(
        [
            _r("base", 0, "finetune", "rouge_l", 0.50),  # the base may be filed under its own arm name
            _r("base", 0, "finetune", "rouge_l", 0.90, seed=1),
            _r("base", 0, "finetune", "rouge_l", 0.10, k=10),
            _r("a", 50, "finetune", "rouge_l", 0.40),
            _r("a", 50, "finetune", "rouge_l", 0.95, seed=1),
            _r("a", 50, "finetune", "rouge_l", 0.30, k=10),
            _r("a", 50, "finetune", "rouge_l", 0.30, encoding="def+pos"),  # no base with this encoding
        ]
    )
    rows = table.rows(QUANTITIES["transfer"])
    got = {(r.seed, r.k, r.encoding): round(r.value, 10) for r in rows}
    assert got == {(0, 5, "task_id"): -0.1, (1, 5, "task_id"): 0.05, (0, 10, "task_id"): 0.2}


def test_transfer_leaves_out_n_zero_and_nll_transfer_keeps_its_sign() -> None:
    table = ResultTable(
        [
            _r("base", 0, "finetune", "target_nll", 1.0, k=0),
            _r("a", 50, "finetune", "target_nll", 3.0, k=0),
            _r("base", 0, "finetune", "target_nll", 1.0),
            _r("a", 50, "finetune", "target_nll", 1.5),
        ]
    )
    rows = table.rows(QUANTITIES["transfer_nll"])
    assert [(r.k, r.value) for r in rows] == [(5, 0.5)]  # worse NLL: positive transfer
    assert not QUANTITIES["transfer_nll"].higher_is_better and QUANTITIES["transfer"].higher_is_better


def test_primary_metric_is_accuracy_then_rouge_then_exact_match_per_task() -> None:
    table = ResultTable(
        [
            _r("a", 10, "icl", "accuracy", 0.9, task="cls"),
            _r("a", 10, "icl", "rouge_l", 0.7, task="cls"),
            _r("a", 10, "icl", "exact_match", 0.2, task="gen"),
            _r("a", 10, "icl", "rouge_l", 0.6, task="gen"),
            _r("a", 10, "icl", "target_nll", 2.0, task="gen"),
            _r("a", 10, "icl", "exact_match", 0.3, task="em"),
        ]
    )
    chosen = {r.task: r.metric for r in table.rows(QUANTITIES["icl"])}
    assert chosen == {"cls": "accuracy", "gen": "rouge_l", "em": "exact_match"}
    assert [r.value for r in table.rows(QUANTITIES["icl_nll"])] == [2.0]


def test_final_and_earliest_checkpoints_are_per_arm_and_seed() -> None:
    rows = [_r("a", s, "icl", "rouge_l", s, seed=seed) for seed in (0, 1) for s in (0, 10, 20, 40 - 10 * seed)]
    assert {(r.seed, r.step) for r in at_final(rows)} == {(0, 40), (1, 30)}
    assert {(r.seed, r.step) for r in at_earliest(rows)} == {(0, 10), (1, 10)}  # step 0 is the base, not a checkpoint


def test_empty_table_is_a_user_error() -> None:
    with pytest.raises(InstructMTLError, match="empty"):
        ResultTable([])


def test_rows_hand_out_one_eval_subset_and_changes_pair_by_subset() -> None:
    def rec(step: int, measure: str, value: float, subset: str) -> ScoreRecord:
        return ScoreRecord(
            "base" if step == 0 else "a",
            0,
            step,
            step / 100,
            "t",
            "held_out",
            measure,
            "def",
            5,
            "rouge_l",
            value,
            "c",
            subset,
        )

    table = ResultTable(
        [
            rec(0, "icl", 0.5, ""),
            rec(0, "icl", 0.1, "a"),
            rec(0, "icl", 0.9, "b"),
            rec(50, "icl", 0.6, ""),
            rec(50, "icl", 0.4, "a"),
            rec(50, "icl", 0.4, "b"),
            rec(0, "finetune", 0.2, "b"),
            rec(50, "finetune", 0.5, "b"),
        ]
    )
    assert [r.value for r in table.rows(QUANTITIES["icl"]) if r.step > 0] == [0.6]  # the whole set by default
    change = {s: [round(r.value, 10) for r in table.rows(QUANTITIES["icl_change"], subset=s)] for s in "ab"}
    assert change == {"a": [0.3], "b": [-0.5]}
    assert [round(r.value, 10) for r in table.rows(QUANTITIES["icl_change"])] == [0.1]
    assert [round(r.value, 10) for r in table.rows(QUANTITIES["transfer"], subset="b")] == [0.3]
    assert table.rows(QUANTITIES["transfer"]) == []  # no whole-set fine-tune: no whole-set transfer


def test_subset_column_is_read_and_defaults_to_all_instances_in_older_exports() -> None:
    row = {
        "arm": "a",
        "seed": "0",
        "step": "10",
        "fraction": "0.5",
        "task": "t",
        "task_role": "held_out",
        "measure": "icl",
        "encoding": "def",
        "k": "2",
        "metric": "rouge_l",
        "value": "0.5",
        "checkpoint_id": "c",
    }
    assert ScoreRecord.from_mapping(row, "old.csv").subset == ""
    assert ScoreRecord.from_mapping({**row, "subset": "b"}, "new.csv").subset == "b"
    assert ScoreRecord.from_mapping({**row, "subset": ""}, "new.csv").subset == ""
