"""Claim 2 on changes from the base: which eval half each side uses, and the split-half reliability it reports."""

from __future__ import annotations

import numpy as np
import pytest

from instructmtl.analysis import ResultTable, ScoreRecord, spearman_brown, split_half_reliability
from instructmtl.analysis.claims_icl import claim_change, claim_points

RESAMPLES = 300
TASKS = [f"t{i}" for i in range(9)]


def _rec(step: int, task: str, measure: str, k: int, value: float, subset: str) -> ScoreRecord:
    arm = "base" if step == 0 else "baseline"
    return ScoreRecord(
        arm, 0, step, step / 20, task, "held_out", measure, "def", k, "rouge_l", value, f"{arm}-{step}", subset
    )


def _table(transfer: dict[str, np.ndarray], icl_change: dict[str, np.ndarray]) -> ResultTable:
    """Base scores 0.5; the final checkpoint (step 20) scores 0.5 + the given change, per subset and task.

    An earlier checkpoint (step 10) scores the base, so only the final one carries the changes.
    """
    records = []
    for subset in transfer:
        for i, task in enumerate(TASKS):
            for step, ft, icl in (
                (0, 0.5, 0.5),
                (10, 0.5, 0.5),
                (20, 0.5 + transfer[subset][i], 0.5 + icl_change[subset][i]),
            ):
                records.append(_rec(step, task, "finetune", 5, ft, subset))
                records.append(_rec(step, task, "icl", 2, icl, subset))
    return ResultTable(records)


def _pattern(shift: int) -> np.ndarray:
    # three patterns over the tasks whose pairwise correlation is about -0.5; distinct values everywhere
    return np.roll(np.array([2.0, -1.0, -1.0] * 3), shift) * 0.1 + np.arange(9) * 1e-3


def test_transfer_comes_from_half_b_and_icl_change_from_half_a() -> None:
    d, e, f = _pattern(0), _pattern(1), _pattern(2)
    transfer = {"": e, "a": e, "b": d}
    change = {"": f, "a": d, "b": f}
    # every other pairing of halves (or the whole set) correlates negatively
    for x, y in ((e, d), (d, f), (e, f)):
        assert np.corrcoef(x, y)[0, 1] < -0.3
    claim = claim_change(_table(transfer, change), "baseline", np.random.default_rng(0), RESAMPLES, 0.3)
    assert claim.estimate == pytest.approx(1.0)
    assert claim.verdict == "supported" and claim.n_tasks == 9


def test_split_half_reliability_is_the_spearman_brown_corrected_half_correlation() -> None:
    rng = np.random.default_rng(3)
    truth_x, truth_y = rng.normal(size=9), rng.normal(size=9)
    transfer = {h: truth_x + rng.normal(0, 0.7, 9) for h in ("", "a", "b")}
    change = {h: truth_y + rng.normal(0, 0.7, 9) for h in ("", "a", "b")}
    claim = claim_change(_table(transfer, change), "baseline", np.random.default_rng(0), RESAMPLES, 0.3)

    r_x = np.corrcoef(transfer["a"], transfer["b"])[0, 1]
    r_y = np.corrcoef(change["a"], change["b"])[0, 1]
    rel_x, rel_y = 2 * r_x / (1 + r_x), 2 * r_y / (1 + r_y)
    assert claim.details["transfer: split-half r (halves a vs b, 9 tasks)"] == pytest.approx(r_x)
    assert claim.details["transfer: reliability (Spearman-Brown)"] == pytest.approx(rel_x)
    assert claim.details["ICL change: reliability (Spearman-Brown)"] == pytest.approx(rel_y)
    assert claim.details["ceiling on r: sqrt(rel_x * rel_y)"] == pytest.approx(np.sqrt(max(rel_x, 0) * max(rel_y, 0)))
    assert claim.estimate == pytest.approx(np.corrcoef(transfer["b"], change["a"])[0, 1])


def test_spearman_brown_by_hand() -> None:
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.0) == 0.0 and np.isnan(spearman_brown(float("nan")))
    r, rel = split_half_reliability(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    assert r == pytest.approx(0.8) and rel == pytest.approx(1.6 / 1.8)


def test_missing_halves_make_claim_2_change_inconclusive_not_an_error() -> None:
    whole = _pattern(0)
    claim = claim_change(_table({"": whole}, {"": whole}), "baseline", np.random.default_rng(0), RESAMPLES, 0.3)
    assert claim.verdict == "inconclusive" and "half b" in claim.reason and np.isnan(claim.estimate)


def test_points_are_judged_without_the_base_point_and_shown_with_it() -> None:
    d = _pattern(0)
    table = _table({"": d}, {"": d})
    claim = claim_points(table, np.random.default_rng(0), RESAMPLES, 0.3)
    # two checkpoints: too few points for a correlation without the base, whatever the base would add
    assert claim.details["points"] == 2 and claim.verdict == "inconclusive" and "3 points" in claim.reason
    assert "pearson with the base point (0, 0)" in claim.details
