"""The verdict rule uses each claim's own threshold; failed validity checks make exactly the guarded claims invalid."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from instructmtl.analysis import Check, Claim, Interval, ResultTable, evaluate_claims
from instructmtl.analysis.verdict import correlation_claim, judged_claim
from unit.analysis.synthetic import ArmTruth, synthetic_records

RESAMPLES = 300


def _r(low: float, high: float) -> dict[str, Interval]:
    iv = Interval((low + high) / 2, low, high)
    return {"pearson": iv, "spearman": iv, "kendall": iv}


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.1, 0.6, "inconclusive"),  # lower end above 0 but below the threshold: not supported yet
        (0.05, 0.25, "not supported"),  # wholly inside (0, threshold): too weak to "predict"
        (0.35, 0.9, "supported"),  # wholly above the threshold
    ],
)
def test_a_correlation_claim_must_clear_its_threshold_not_zero(low: float, high: float, expected: str) -> None:
    claim = correlation_claim(
        "5", "r not below 0.3", _r(low, high), n_points=10, counts=(10, 2), threshold=0.3, details={}
    )
    assert claim.verdict == expected
    assert (claim.reason != "") == (expected == "inconclusive")


def test_undefined_interval_is_inconclusive_with_a_reason() -> None:
    nan = float("nan")
    claim = judged_claim("1", "mean below 0", Interval(-0.1, nan, nan), (1, 1), direction=-1, threshold=0.0, details={})
    assert claim.verdict == "inconclusive" and "undefined" in claim.reason


def _claims(threshold: float = 0.3, checks: tuple[Check, ...] = ()) -> dict[str, Claim]:
    records = synthetic_records(
        {"baseline": ArmTruth(), "replay": ArmTruth(forget=0.0)},
        rng=np.random.default_rng(0),
        link=1.0,
        task_spread=0.4,
        halves=True,
    )
    found = evaluate_claims(
        ResultTable(records),
        baseline_arm="baseline",
        replay_arms=["replay"],
        rng=np.random.default_rng(1),
        n_resamples=RESAMPLES,
        threshold=threshold,
        excluded_arms=["replay"],
        checks=checks,
    )
    return {c.id: c for c in found}


def test_the_stated_threshold_decides_the_verdict_end_to_end() -> None:
    c5 = _claims(threshold=0.0)["5"]
    assert 0 < c5.ci_low < c5.ci_high < 1 and c5.verdict == "supported"
    # the same interval (same seed) against a threshold inside it, and one below its lower end
    inside = _claims(threshold=(c5.ci_low + c5.ci_high) / 2)["5"]
    assert (inside.ci_low, inside.ci_high) == (c5.ci_low, c5.ci_high) and inside.verdict == "inconclusive"
    assert _claims(threshold=c5.ci_low / 2)["5"].verdict == "supported"
    assert "not below 0.3" in _claims()["5"].statement  # the statement says what the verdict used


def _check(passed: bool | None, claims: tuple[str, ...], name: str = "tuning fitted (baseline)") -> Check:
    return Check(name, passed, 1.9, 1.5, "train NLL 1.9 vs base 2.0 (needs < 1.5)", claims)


def test_a_failed_check_makes_exactly_the_claims_it_guards_invalid() -> None:
    plain = _claims()
    guarded = _claims(
        checks=(
            _check(False, ("2", "5")),
            _check(True, ("*",), "no leakage"),
            _check(None, ("*",), "no leakage (streamed corpus)"),
        )
    )
    assert plain.keys() == guarded.keys() and all(np.isfinite(plain[c].estimate) for c in ("2.change", "5"))
    for cid, claim in guarded.items():
        if cid.startswith(("2", "5")):
            assert claim.verdict == "invalid", cid
            assert "tuning fitted (baseline)" in claim.reason and "needs < 1.5" in claim.reason
            # the numbers stay on show
            assert (claim.estimate, claim.ci_low, claim.ci_high) == (
                plain[cid].estimate,
                plain[cid].ci_low,
                plain[cid].ci_high,
            )
        else:
            assert claim.to_json() == plain[cid].to_json(), cid  # passed or unchecked checks change nothing


def test_a_check_guarding_every_claim_and_several_failures_are_all_named() -> None:
    claims = _claims(checks=(_check(False, ("*",)), _check(False, ("1",), "fine-tuning helps")))
    assert {c.verdict for c in claims.values()} == {"invalid"}
    assert "fine-tuning helps" in claims["1.nll"].reason and "tuning fitted" in claims["1.nll"].reason
    assert "fine-tuning helps" not in claims["3"].reason


def test_check_and_claim_json_have_no_nan() -> None:
    check = Check("no leakage", None, float("nan"), 0.0, "streamed corpus: not scanned", ("*",))
    out = check.to_json()
    assert out == {
        "name": "no leakage",
        "passed": None,
        "value": None,
        "threshold": 0.0,
        "detail": "streamed corpus: not scanned",
        "claims": ["*"],
    }
    nan = float("nan")
    claim = Claim("3", "s", nan, nan, nan, 0, 0, "inconclusive", "no arms", {"x": nan, "y": "a"})
    text = json.dumps(claim.to_json(), allow_nan=False)
    assert json.loads(text)["details"] == {"x": None, "y": "a"} and json.loads(text)["reason"] == "no arms"
    assert math.isnan(claim.estimate)
