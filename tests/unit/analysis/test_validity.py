"""Validity checks: each fails exactly when what it guards does not hold."""

from __future__ import annotations

import numpy as np
import pytest

from instructmtl.analysis import ResultTable
from instructmtl.analysis.validity import FIT_RATIO, final_checkpoint_ids, study_checks
from unit.analysis.synthetic import ArmTruth, synthetic_records

FACTS = {
    "leakage.pretraining": {"checked": True, "hits": 0, "detail": "clean"},
    "leakage.replay.r-seed0": {"checked": False, "hits": None, "detail": "not checked: streamed"},
    "tune.a-seed0": {"instructions": 640},
    "tune.b-seed0": {"instructions": 640},
    "arms.differences.b": ["sampler"],
    "sampling.tv.b": {"tv": 0.3, "sampler_differs": True},
    "chance": {},
}


def checks_of(arms: dict[str, ArmTruth], facts: dict = FACTS, **kwargs) -> dict[str, object]:  # type: ignore[no-untyped-def]
    table = ResultTable(synthetic_records(arms, rng=np.random.default_rng(0), **kwargs))
    checks = study_checks(table, facts, arms=list(arms), final_checkpoints=final_checkpoint_ids(table))
    return {c.name: c for c in checks}


def test_tuning_that_fits_passes_and_tuning_that_does_not_fails() -> None:
    # synthetic base NLL is 2.0; an arm ending at 0.8 fits (0.4x), one ending at 1.8 does not (0.9x)
    checks = checks_of({"a": ArmTruth(fit_nll=0.8, gen_nll=1.0), "b": ArmTruth(fit_nll=1.8, gen_nll=2.3)})
    assert checks["tuning fitted (a)"].passed and checks["tuning fitted (a)"].value == pytest.approx(0.4, abs=0.01)
    assert checks["tuning fitted (b)"].passed is False and checks["tuning fitted (b)"].value > FIT_RATIO
    assert checks["generalization improved (a)"].passed
    assert checks["generalization improved (b)"].passed is False  # generalization NLL rose
    assert checks["tuning fitted (a)"].claims == ("*",)


def test_leakage_instruction_counts_and_arm_checks_read_the_facts() -> None:
    checks = checks_of({"a": ArmTruth()})
    assert checks["no leakage: pretraining"].passed is True
    assert checks["no leakage: replay.r-seed0"].passed is None  # not checked is not a pass
    assert checks["equal instruction counts"].passed and checks["arms differ in one thing (b)"].passed
    leaky = {
        **FACTS,
        "leakage.pretraining": {"checked": True, "hits": 3, "detail": "3 pairs"},
        "tune.b-seed0": {"instructions": 480},
        "arms.differences.b": ["sampler", "aggregator"],
        "sampling.tv.b": {"tv": 0.01, "sampler_differs": True},
    }
    bad = checks_of({"a": ArmTruth()}, leaky)
    assert bad["no leakage: pretraining"].passed is False and bad["no leakage: pretraining"].value == 3
    assert bad["equal instruction counts"].passed is False and bad["equal instruction counts"].value == 160
    assert bad["arms differ in one thing (b)"].passed is False
    assert bad["sampling differs (b)"].passed is False


def test_fine_tuning_must_help_the_base() -> None:
    # the synthetic base's fine-tune score does not depend on n: no help, so the check fails
    checks = checks_of({"a": ArmTruth()})
    assert checks["fine-tuning helps the base"].passed is False
    assert checks["fine-tuning helps the base"].claims == ("1", "2", "5")


def test_chance_level_of_classification_tasks() -> None:
    table_rows = synthetic_records({"a": ArmTruth()}, rng=np.random.default_rng(0))
    tasks = sorted({r.task for r in table_rows if r.task_role == "held_out"})
    # ICL scores are ~0.3-0.7; a task whose majority label already scores 0.95 is not beaten
    high = {**FACTS, "chance": {t: {"metric": "accuracy", "value": 0.95, "baseline": "majority label"} for t in tasks}}
    low = {**FACTS, "chance": {t: 0.05 for t in tasks}}  # a schema-2 store's bare majority-label rate
    from dataclasses import replace

    relabel = [replace(r, metric="accuracy") if r.metric == "rouge_l" else r for r in table_rows]
    for facts, expected in ((high, False), (low, True)):
        table = ResultTable(relabel)
        checks = {c.name: c for c in study_checks(table, facts, arms=["a"], final_checkpoints=[])}
        assert checks["base ICL above chance"].passed is expected


def test_chance_is_compared_in_each_tasks_own_metric() -> None:
    # generation tasks are held to their no-skill ROUGE-L; a baseline in another metric is not compared
    rows = synthetic_records({"a": ArmTruth()}, rng=np.random.default_rng(0))
    tasks = sorted({r.task for r in rows if r.task_role == "held_out"})

    def check(metric: str, value: float):  # type: ignore[no-untyped-def]
        facts = {**FACTS, "chance": {t: {"metric": metric, "value": value, "baseline": "echo input"} for t in tasks}}
        found = {c.name: c for c in study_checks(ResultTable(rows), facts, arms=["a"], final_checkpoints=[])}
        return found["base ICL above chance"]

    assert check("rouge_l", 0.95).passed is False
    assert check("rouge_l", 0.05).passed is True
    assert "generation" in check("rouge_l", 0.05).detail
    assert check("exact_match", 0.05).passed is None  # no row of that metric: nothing to compare


def test_tuning_that_did_not_fit_gets_no_verdict() -> None:
    from instructmtl.analysis import evaluate_claims

    arms = {"a": ArmTruth(fit_nll=1.9, gen_nll=2.2, forget=-0.3), "r": ArmTruth(fit_nll=1.9, gen_nll=2.2)}
    table = ResultTable(synthetic_records(arms, rng=np.random.default_rng(0), halves=True))
    checks = study_checks(table, FACTS, arms=list(arms), final_checkpoints=final_checkpoint_ids(table))
    claims = evaluate_claims(
        table, baseline_arm="a", replay_arms=["r"], rng=np.random.default_rng(2), n_resamples=200, checks=checks
    )
    assert {c.verdict for c in claims} == {"invalid"}
    assert all("tuning fitted (a)" in c.reason for c in claims)
    # the same data with tuning that fits: claim 1 (strong forgetting by construction) gets a real verdict
    fitted = {"a": ArmTruth(fit_nll=0.8, gen_nll=1.0, forget=-0.3), "r": ArmTruth(fit_nll=0.8, gen_nll=1.0)}
    table = ResultTable(synthetic_records(fitted, rng=np.random.default_rng(0), halves=True))
    checks = [
        c
        for c in study_checks(table, FACTS, arms=list(fitted), final_checkpoints=final_checkpoint_ids(table))
        if c.name != "fine-tuning helps the base"
    ]  # the synthetic base does not learn from n
    claims = {
        c.id: c
        for c in evaluate_claims(
            table, baseline_arm="a", replay_arms=["r"], rng=np.random.default_rng(2), n_resamples=200, checks=checks
        )
    }
    assert claims["1"].verdict == "supported"
