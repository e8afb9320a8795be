"""Claim 3: ICL of the best-generalizing arm minus ICL of the best-fitting arm, replay/regularized arms left out."""

from __future__ import annotations

import numpy as np
import pytest

from instructmtl.analysis import ResultTable, ScoreRecord
from instructmtl.analysis.claims_method import claim_mtl_method
from unit.analysis.synthetic import ArmTruth, synthetic_records

RESAMPLES = 300
ARMS = {
    "baseline": ArmTruth(icl_shift=-0.05, gen_nll=1.2, fit_nll=0.7),
    "uniform": ArmTruth(icl_shift=-0.1, gen_nll=1.4, fit_nll=0.5),  # best fit
    "temperature": ArmTruth(icl_shift=0.03, gen_nll=1.1, fit_nll=0.8),  # best generalization among the competitors
    "replay": ArmTruth(icl_shift=0.2, gen_nll=0.9, fit_nll=0.9),  # generalizes best of all, but is left out
}


def _final_icl(records: list[ScoreRecord], arm: str) -> float:
    """Mean ICL score of ``arm``'s last checkpoint, straight from the rows (every cell has the same row count)."""
    last = max(r.step for r in records if r.arm == arm)
    return float(
        np.mean(
            [
                r.value
                for r in records
                if r.arm == arm and r.step == last and r.measure == "icl" and r.metric == "rouge_l" and r.subset == ""
            ]
        )
    )


def test_estimate_is_the_icl_difference_of_the_arms_picked_and_replay_is_left_out() -> None:
    records = synthetic_records(ARMS, rng=np.random.default_rng(0))
    claim = claim_mtl_method(ResultTable(records), ["replay"], np.random.default_rng(1), RESAMPLES)
    assert claim.details["best-generalizing arm"] == "temperature"
    assert claim.details["best-fitting arm"] == "uniform"
    assert claim.estimate == pytest.approx(
        _final_icl(records, "temperature") - _final_icl(records, "uniform"), abs=1e-12
    )
    assert claim.verdict == "supported" and claim.ci_low > 0
    assert claim.details["left out (replay, regularized, LoRA)"] == "replay"
    assert claim.details["rank by MTL generalization"] == "temperature > baseline > uniform"
    assert claim.details["P(best-generalizing arm has the best ICL)"] == pytest.approx(1.0)
    assert "note" not in claim.details


def test_with_the_replay_arm_competing_it_would_be_picked() -> None:
    records = synthetic_records(ARMS, rng=np.random.default_rng(0))
    claim = claim_mtl_method(ResultTable(records), [], np.random.default_rng(1), RESAMPLES)
    assert claim.details["best-generalizing arm"] == "replay"
    assert claim.estimate == pytest.approx(_final_icl(records, "replay") - _final_icl(records, "uniform"), abs=1e-12)


def test_one_arm_best_at_both_gives_zero_and_says_so() -> None:
    arms = {
        "a": ArmTruth(icl_shift=0.0, gen_nll=1.0, fit_nll=0.5),
        "b": ArmTruth(icl_shift=0.1, gen_nll=1.4, fit_nll=0.9),
    }
    claim = claim_mtl_method(
        ResultTable(synthetic_records(arms, rng=np.random.default_rng(0))), [], np.random.default_rng(1), RESAMPLES
    )
    assert claim.estimate == 0.0 and "by construction" in str(claim.details["note"])
    assert claim.verdict == "inconclusive"  # every resample picks 'a' twice: the interval is [0, 0]


def test_fewer_than_two_competing_arms_is_inconclusive() -> None:
    records = synthetic_records({"baseline": ArmTruth(), "replay": ArmTruth()}, rng=np.random.default_rng(0))
    claim = claim_mtl_method(ResultTable(records), ["replay"], np.random.default_rng(1), RESAMPLES)
    assert claim.verdict == "inconclusive" and "has 1" in claim.reason
