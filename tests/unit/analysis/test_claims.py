"""The five claims on synthetic studies whose truth is known by construction (end to end through evaluate_claims)."""

from __future__ import annotations

import numpy as np
import pytest

from instructmtl.analysis import Claim, ResultTable, arm_table, curves, evaluate_claims, task_table
from instructmtl.errors import InstructMTLError
from unit.analysis.synthetic import ArmTruth, synthetic_records

RESAMPLES = 400


def _claims(
    arms: dict[str, ArmTruth],
    *,
    baseline: str = "baseline",
    replay: tuple[str, ...] = (),
    seed: int = 0,
    **kwargs: object,
) -> dict[str, Claim]:
    records = synthetic_records(arms, rng=np.random.default_rng(seed), **kwargs)
    claims = evaluate_claims(
        ResultTable(records),
        baseline_arm=baseline,
        replay_arms=replay,
        rng=np.random.default_rng(1),
        n_resamples=RESAMPLES,
        excluded_arms=replay,
    )
    return {c.id: c for c in claims}


def test_forgetting_by_construction_is_supported_on_score_and_nll() -> None:
    claims = _claims({"baseline": ArmTruth(forget=-0.1)})
    assert claims["1"].verdict == "supported"
    assert claims["1"].estimate == pytest.approx(-0.1, abs=0.02)
    assert claims["1"].ci_low < -0.1 < claims["1"].ci_high  # the interval covers the truth
    assert claims["1"].n_tasks == 12 and claims["1"].n_seeds == 3
    # NLL = 2 - 1.5 * score, so NLL transfer is +0.15 and the claim flips direction with it
    assert claims["1.nll"].estimate == pytest.approx(0.15, abs=0.03)
    assert claims["1.nll"].verdict == "supported"


def test_reversed_effect_is_not_supported() -> None:
    claims = _claims({"baseline": ArmTruth(forget=0.1)})
    assert claims["1"].verdict == "not supported" and claims["1.nll"].verdict == "not supported"


def test_pure_noise_is_inconclusive() -> None:
    claims = _claims({"baseline": ArmTruth(forget=0.0)}, task_spread=0.0, noise=0.05)
    assert claims["1"].ci_low < 0 < claims["1"].ci_high
    assert claims["1"].verdict == "inconclusive"


def test_perfectly_related_losses_give_r_one() -> None:
    claims = _claims({"baseline": ArmTruth()}, coupling=1.0, noise=1e-4, task_spread=0.0)
    assert claims["2.levels"].estimate == pytest.approx(1.0, abs=1e-3)
    assert claims["2.levels"].verdict == "supported"


def test_unrelated_losses_are_not_claimed_to_predict() -> None:
    claims = _claims({"baseline": ArmTruth()}, coupling=0.0, n_tasks=60)
    assert abs(claims["2.levels"].estimate) < 0.3
    assert claims["2.levels"].verdict in {"not supported", "inconclusive"}


def test_arm_that_generalizes_best_has_best_icl() -> None:
    arms = {
        "baseline": ArmTruth(forget=-0.1, icl_shift=-0.05, gen_nll=1.2, fit_nll=0.7),
        "uniform": ArmTruth(forget=-0.15, icl_shift=-0.1, gen_nll=1.4, fit_nll=0.5),  # best fit, worst ICL
        "replay": ArmTruth(forget=-0.02, icl_shift=0.02, gen_nll=1.0, fit_nll=0.9),  # left out of claim 3
    }
    claims = _claims(arms, replay=("replay",), link=1.0, task_spread=0.1)
    c3 = claims["3"]
    # ICL(baseline) - ICL(uniform) = -0.05 - (-0.1) at the final checkpoint
    assert c3.estimate == pytest.approx(0.05, abs=0.01) and c3.verdict == "supported"
    assert (c3.details["best-generalizing arm"], c3.details["best-fitting arm"]) == ("baseline", "uniform")
    assert c3.details["rank by MTL fit"] == "uniform > baseline"
    assert c3.details["rank by ICL"] == "baseline > uniform"
    assert c3.details["P(best-generalizing arm has the best ICL)"] == pytest.approx(1.0)
    assert claims["2.points"].verdict == "supported" and claims["2.points"].details["points"] == 9
    assert claims["4.transfer.replay"].estimate == pytest.approx(0.08, abs=0.02)
    assert claims["4.transfer.replay"].verdict == "supported"
    assert claims["4.icl.replay"].verdict == "supported"


def test_replay_that_forgets_more_is_not_supported() -> None:
    arms = {"baseline": ArmTruth(forget=-0.05), "replay_0.5": ArmTruth(forget=-0.2, icl_shift=-0.1)}
    claims = _claims(arms, replay=("replay_0.5",))
    assert claims["4.transfer.replay_0.5"].verdict == "not supported"
    assert claims["4.icl.replay_0.5"].verdict == "not supported"


def test_early_transfer_predicting_icl_per_task_is_found() -> None:
    claims = _claims({"baseline": ArmTruth()}, link=1.0, task_spread=0.4)
    assert claims["5"].estimate > 0.8 and claims["5"].verdict == "supported" and claims["5"].reason == ""
    assert (claims["5"].details["earliest step"], claims["5"].details["final step"]) == ("10", "40")


def test_one_checkpoint_makes_claim_5_invalid() -> None:
    claims = _claims({"baseline": ArmTruth()}, link=1.0, task_spread=0.4, steps=(40,))
    assert claims["5"].verdict == "invalid" and claims["5"].reason == "needs >= 2 checkpoints"
    assert np.isfinite(claims["5"].estimate)  # the number is still shown


def test_single_seed_says_the_interval_covers_tasks_only() -> None:
    one = _claims({"baseline": ArmTruth()}, seeds=(0,))
    assert all(c.details["seeds"] == "tasks only" for c in one.values())
    assert all("seeds" not in c.details for c in _claims({"baseline": ArmTruth()}).values())


def test_too_little_data_is_inconclusive_not_supported() -> None:
    claims = _claims({"baseline": ArmTruth(forget=-0.1)}, n_tasks=1)
    assert claims["1"].verdict == "inconclusive" and claims["1"].reason == "needs >= 2 tasks (has 1)"
    assert claims["3"].verdict == "inconclusive" and "arms" in claims["3"].reason  # one arm: nothing to pick
    assert claims["4"].verdict == "inconclusive" and "no replay arm" in claims["4"].reason
    assert claims["2.change"].verdict == "inconclusive" and "subsets a and b" in claims["2.change"].reason


def test_claims_are_deterministic_by_seed() -> None:
    a = _claims({"baseline": ArmTruth(), "replay": ArmTruth(forget=0.0)}, replay=("replay",))
    b = _claims({"baseline": ArmTruth(), "replay": ArmTruth(forget=0.0)}, replay=("replay",))
    assert [c.to_json() for c in a.values()] == [c.to_json() for c in b.values()]


def test_unknown_arm_names_the_arms_present() -> None:
    records = synthetic_records({"baseline": ArmTruth()}, rng=np.random.default_rng(0))
    with pytest.raises(InstructMTLError, match="arms are: baseline"):
        evaluate_claims(
            ResultTable(records),
            baseline_arm="proportional",
            replay_arms=(),
            rng=np.random.default_rng(0),
            n_resamples=RESAMPLES,
        )


def test_tables_follow_the_construction() -> None:
    arms = {"baseline": ArmTruth(forget=-0.1, gen_nll=1.2, fit_nll=0.7), "replay": ArmTruth(forget=-0.02)}
    table = ResultTable(synthetic_records(arms, rng=np.random.default_rng(0)))
    rows = {r.arm: r for r in arm_table(table, ("baseline", "replay"))}
    assert rows["baseline"].values["mtl_fit"].estimate == pytest.approx(0.7, abs=0.01)
    assert rows["baseline"].values["transfer"].estimate == pytest.approx(-0.1, abs=0.02)
    assert rows["replay"].values["transfer"].estimate == pytest.approx(-0.02, abs=0.02)
    [base_curve, _] = curves(table, "transfer", ("baseline", "replay"))
    assert list(base_curve.fractions) == [0.0, 0.25, 0.5, 1.0] and base_curve.mean[0] == 0.0
    assert base_curve.mean[-1] < base_curve.mean[1] < 0  # forgetting grows with training
    per_task = task_table(table, "baseline")
    assert len(per_task) == 12 and all(t.final_transfer < t.early_transfer + 0.05 for t in per_task)
