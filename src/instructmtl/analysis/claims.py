"""The five claims of DESIGN.md, each as an estimate, a 95% interval and a verdict.

Verdict rule (the same for every claim; the tool never assumes the paper is
right):

* **not supported** when the interval excludes the null value on the side
  *opposite* to the claim, or, for a claim that one thing *predicts* another
  (a correlation), when the whole interval lies below the stated threshold
  (default ``r = 0.3``: below it the predictor explains under 10% of the
  variance, which is not what "predicts" means);
* **supported** otherwise, when the interval excludes the null on the
  claimed side;
* **inconclusive** in every other case, including an undefined interval
  (too few tasks, seeds, arms or checkpoints for the statistic).

Signs: for metrics where lower is better (target NLL) forgetting is a
*positive* transfer, so the claimed direction flips; each claim states its
direction in words.

Which data each claim uses:

1. ``1`` / ``1.nll``: mean transfer over held-out tasks, ``n > 0``, at the
   final checkpoint of the baseline arm (other arms in the details), on each
   task's primary metric / on target NLL.
2. ``2.nll``: Pearson r across held-out tasks between fine-tuned target NLL
   and ICL target NLL, final baseline checkpoints (authors: r ≈ 0.94).
   ``2.points``: Pearson r across (arm, checkpoint) points between mean
   transfer and mean ICL score.
3. ``3``: Spearman rho across arms between MTL generalization (negated target
   NLL, so larger is better) and ICL score, final checkpoints.
4. ``4.transfer.<arm>`` / ``4.icl.<arm>``: replay arm minus baseline arm,
   paired by task and seed, final checkpoints.
5. ``5``: Pearson r across held-out tasks between transfer at the baseline
   arm's earliest checkpoint and its ICL score at the final checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from instructmtl.analysis.bootstrap import (
    DEFAULT_RESAMPLES,
    Interval,
    Panel,
    difference_interval,
    mean_intervals,
    task_correlation,
    unit_correlation,
)
from instructmtl.analysis.measures import QUANTITIES, ResultTable, at_earliest, at_final
from instructmtl.errors import InstructMTLError

__all__ = ["Claim", "DEFAULT_THRESHOLD", "Verdict", "evaluate_claims", "verdict"]

Verdict = Literal["supported", "not supported", "inconclusive"]
DEFAULT_THRESHOLD = 0.3
MIN_TASKS = 2  # a mean over one task has no task-level spread to bootstrap
MIN_UNITS = 3  # a correlation over two points is always ±1


@dataclass(frozen=True)
class Claim:
    """One claim's outcome.

    Attributes:
        id: short id (``1``, ``2.nll``, ``4.icl.replay_0.2``, ...).
        statement: the claim in words, with its statistic and direction.
        estimate: the point estimate.
        ci_low / ci_high: 95% cluster-bootstrap interval (NaN if undefined).
        n_tasks / n_seeds: tasks and seeds the estimate rests on.
        verdict: ``supported``, ``not supported`` or ``inconclusive``.
        details: further numbers (other methods, other arms, ranks), for reading.
    """

    id: str
    statement: str
    estimate: float
    ci_low: float
    ci_high: float
    n_tasks: int
    n_seeds: int
    verdict: Verdict
    details: dict[str, str | float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-able dict (NaN becomes ``None``)."""
        out = asdict(self)
        for key in ("estimate", "ci_low", "ci_high"):
            out[key] = None if math.isnan(out[key]) else out[key]
        return out


def verdict(interval: Interval, *, direction: int, null: float = 0.0, threshold: float | None = None) -> Verdict:
    """Applies the module's verdict rule.

    Args:
        interval: the estimate's 95% interval.
        direction: +1 if the claim says "above ``null``", -1 if "below".
        null: the no-effect value.
        threshold: for predictive (correlation) claims, the weakest value that
            still counts; an interval wholly on the null side of it is
            "not supported". Given with the claim's sign.

    Returns:
        The verdict.
    """
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "inconclusive"
    # turn everything so that the claim reads "above null"
    low, high = sorted((interval.low * direction, interval.high * direction))
    null, limit = null * direction, None if threshold is None else threshold * direction
    if high < null or (limit is not None and high < limit):
        return "not supported"
    if low > null:
        return "supported"
    return "inconclusive"


def _claim(cid: str, statement: str, iv: Interval, panel_counts: tuple[int, int], verdict_: Verdict,
           details: dict[str, str | float]) -> Claim:
    return Claim(cid, statement, iv.estimate, iv.low, iv.high, panel_counts[0], panel_counts[1], verdict_, details)


def _final_panel(table: ResultTable, quantity: str, arm: str) -> Panel:
    return Panel.from_rows(at_final(table.rows(QUANTITIES[quantity], arm=arm)), lambda r: r.arm, units=[arm])


def _mean_claim(cid: str, statement: str, panel: Panel, iv: Interval, direction: int,
                details: dict[str, str | float]) -> Claim:
    v = verdict(iv, direction=direction)
    if panel.n_tasks < MIN_TASKS:
        v, details = "inconclusive", {**details, "why inconclusive": f"needs >= {MIN_TASKS} tasks"}
    return _claim(cid, statement, iv, (panel.n_tasks, panel.n_seeds), v, details)


def claim_forgetting(table: ResultTable, arm: str, quantity: str, rng: np.random.Generator,
                     n_resamples: int) -> Claim:
    """Claim 1 on ``transfer`` (primary metric) or ``transfer_nll``; other arms go in the details."""
    q = QUANTITIES[quantity]
    direction = -1 if q.higher_is_better else 1
    panel = _final_panel(table, quantity, arm)
    iv = mean_intervals(panel, rng, n_resamples)[0]
    details: dict[str, str | float] = {f"arm {a}": str(mean_intervals(_final_panel(table, quantity, a), rng,
                                                                       n_resamples)[0])
                                       for a in table.arms() if a != arm}
    side = "below 0 (worse than the base)" if direction < 0 else "above 0 (higher NLL than the base)"
    statement = (f"Instruction-tuning makes parameters a worse start for unseen tasks: mean {q.label} of the "
                 f"final '{arm}' checkpoint over held-out tasks (n > 0) is {side}.")
    cid = "1" if quantity == "transfer" else "1.nll"
    return _mean_claim(cid, statement, panel, iv, direction, details)


def _correlation_claim(cid: str, statement: str, intervals: dict[str, Interval], method: str,
                       n_units: int, counts: tuple[int, int], threshold: float,
                       details: dict[str, str | float]) -> Claim:
    iv = intervals[method]
    details = {**details, **{m: str(i) for m, i in intervals.items() if m != method}, "points": n_units}
    v = verdict(iv, direction=1, threshold=threshold)
    if n_units < MIN_UNITS:
        v, details = "inconclusive", {**details, "why inconclusive": f"needs >= {MIN_UNITS} points"}
    elif counts[0] < MIN_TASKS:  # points averaged over one task carry no task-level uncertainty
        v, details = "inconclusive", {**details, "why inconclusive": f"needs >= {MIN_TASKS} tasks"}
    return _claim(cid, statement, iv, counts, v, details)


def claim_ft_icl_nll(table: ResultTable, arm: str, rng: np.random.Generator, n_resamples: int,
                     threshold: float) -> Claim:
    """Claim 2 per task: fine-tuned target NLL against ICL target NLL."""
    x = _final_panel(table, "finetune_nll", arm)
    y = _final_panel(table, "icl_nll", arm)
    intervals, tasks, _, _ = task_correlation(x, y, rng, n_resamples)
    statement = (f"Fine-tuning loss predicts ICL loss: Pearson r across held-out tasks between fine-tuned "
                 f"target NLL and ICL target NLL (final '{arm}' checkpoint) is positive and not below {threshold} "
                 f"(authors: r ≈ 0.94).")
    return _correlation_claim("2.nll", statement, intervals, "pearson", len(tasks), (len(tasks), x.n_seeds),
                              threshold, {})


def checkpoint_panels(table: ResultTable) -> tuple[Panel, Panel]:
    """Transfer and ICL score on (arm, step) units of every tuned checkpoint (claim 2's points)."""
    transfer = [r for r in table.rows(QUANTITIES["transfer"]) if r.step > 0]
    icl = [r for r in table.rows(QUANTITIES["icl"]) if r.step > 0]
    units = sorted({(r.arm, r.step) for r in transfer} & {(r.arm, r.step) for r in icl})
    return (Panel.from_rows(transfer, lambda r: (r.arm, r.step), units=units),
            Panel.from_rows(icl, lambda r: (r.arm, r.step), units=units))


def claim_transfer_icl(table: ResultTable, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 2 across checkpoints and arms: mean transfer against mean ICL score."""
    x, y = checkpoint_panels(table)
    result = unit_correlation(x, y, rng, n_resamples)
    statement = (f"Transfer predicts ICL: Pearson r across (arm, checkpoint) points between mean transfer and "
                 f"mean ICL score on held-out tasks is positive and not below {threshold}.")
    return _correlation_claim("2.points", statement, result.intervals, "pearson", len(result.units),
                              (x.n_tasks, x.n_seeds), threshold, {})


def _ranking(arms: Sequence[str], means: np.ndarray) -> str:
    order = np.argsort(-means, kind="stable")
    return " > ".join(arms[i] for i in order)


def claim_mtl_method(table: ResultTable, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 3: across arms, MTL generalization (not fit) goes with ICL."""
    arms = list(table.arms())

    def arm_panel(quantity: str, negate: bool) -> Panel:
        p = Panel.from_rows(at_final(table.rows(QUANTITIES[quantity])), lambda r: r.arm, units=arms)
        return Panel(p.units, p.tasks, p.seeds, -p.values if negate else p.values)

    gen, fit, icl = arm_panel("mtl_gen", True), arm_panel("mtl_fit", True), arm_panel("icl", False)
    by_gen = unit_correlation(gen, icl, rng, n_resamples)
    by_fit = unit_correlation(fit, icl, rng, n_resamples)
    used = [str(u) for u in by_gen.units]
    details: dict[str, str | float] = {
        "rank by MTL generalization": _ranking(arms, gen.point_means()),
        "rank by MTL fit": _ranking(arms, fit.point_means()),
        "rank by ICL": _ranking(arms, icl.point_means()),
        "spearman(fit, ICL)": str(by_fit.intervals["spearman"]),
    }
    if len(used) >= 2:
        same = np.argmax(np.nan_to_num(by_gen.x_boot, nan=-np.inf), axis=1) == np.argmax(
            np.nan_to_num(by_gen.y_boot, nan=-np.inf), axis=1)
        details["P(best-generalizing arm has best ICL)"] = float(same.mean())
    statement = (f"The MTL method matters: Spearman rho across arms between MTL generalization (-target NLL on "
                 f"seen tasks' eval instances) and ICL score on held-out tasks (final checkpoints) is positive and "
                 f"not below {threshold}; the best-fitting arm need not be the best.")
    return _correlation_claim("3", statement, by_gen.intervals, "spearman", len(used),
                              (icl.n_tasks, icl.n_seeds), threshold, details)


def claim_replay(table: ResultTable, replay_arm: str, baseline_arm: str, quantity: str,
                 rng: np.random.Generator, n_resamples: int) -> Claim:
    """Claim 4 for one replay arm and one quantity (``transfer`` or ``icl``)."""
    iv, diff = difference_interval(_final_panel(table, quantity, replay_arm),
                                   _final_panel(table, quantity, baseline_arm), rng, n_resamples)
    statement = (f"Replay mitigates forgetting: mean {QUANTITIES[quantity].label} of '{replay_arm}' minus "
                 f"'{baseline_arm}' (final checkpoints, paired by task and seed) is above 0.")
    return _mean_claim(f"4.{quantity}.{replay_arm}", statement, diff, iv, 1, {})


def claim_early(table: ResultTable, arm: str, rng: np.random.Generator, n_resamples: int,
                threshold: float) -> Claim:
    """Claim 5: per-task transfer at the earliest checkpoint against final ICL."""
    early_rows = at_earliest(table.rows(QUANTITIES["transfer"], arm=arm))
    x = Panel.from_rows(early_rows, lambda r: r.arm, units=[arm])
    y = _final_panel(table, "icl", arm)
    intervals, tasks, _, _ = task_correlation(x, y, rng, n_resamples)
    steps = sorted({r.step for r in early_rows})
    statement = (f"Early training predicts per task: Pearson r across held-out tasks between transfer at the "
                 f"earliest '{arm}' checkpoint and ICL score at the final one is positive and not below "
                 f"{threshold}.")
    return _correlation_claim("5", statement, intervals, "pearson", len(tasks), (len(tasks), x.n_seeds),
                              threshold, {"earliest step": ", ".join(map(str, steps))})


def _check_arms(table: ResultTable, baseline_arm: str, replay_arms: Sequence[str]) -> None:
    arms = table.arms()
    for name in (baseline_arm, *replay_arms):
        if name not in arms:
            raise InstructMTLError(
                f"analysis arm '{name}' has no tuned checkpoint in the results; arms are: {', '.join(arms)}; "
                f"set analysis.baseline_arm / analysis.replay_arms in the study config"
            )


def evaluate_claims(
    table: ResultTable,
    *,
    baseline_arm: str,
    replay_arms: Sequence[str],
    rng: np.random.Generator,
    n_resamples: int = DEFAULT_RESAMPLES,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Claim]:
    """Evaluates all five claims.

    Each claim draws from its own child of ``rng`` (``rng.spawn``), in a fixed
    order, so the same seed gives the same intervals.

    Args:
        table: the study's results.
        baseline_arm: the arm claims 1, 2, 4 and 5 are about / compare against.
        replay_arms: arms that mix in pretraining text (claim 4).
        rng: seeded generator.
        n_resamples: bootstrap resamples per interval.
        threshold: weakest correlation that counts as "predicts".

    Raises:
        InstructMTLError: an arm name has no data.
    """
    _check_arms(table, baseline_arm, replay_arms)
    children = iter(rng.spawn(6 + 2 * len(replay_arms)))
    claims = [
        claim_forgetting(table, baseline_arm, "transfer", next(children), n_resamples),
        claim_forgetting(table, baseline_arm, "transfer_nll", next(children), n_resamples),
        claim_ft_icl_nll(table, baseline_arm, next(children), n_resamples, threshold),
        claim_transfer_icl(table, next(children), n_resamples, threshold),
        claim_mtl_method(table, next(children), n_resamples, threshold),
    ]
    for arm in replay_arms:
        for quantity in ("transfer", "icl"):
            claims.append(claim_replay(table, arm, baseline_arm, quantity, next(children), n_resamples))
    if not replay_arms:
        nan = Interval(float("nan"), float("nan"), float("nan"))
        claims.append(_claim("4", "Replay mitigates forgetting (no replay arm in this study).", nan, (0, 0),
                             "inconclusive", {"why inconclusive": "no replay arm; add one to the study"}))
    claims.append(claim_early(table, baseline_arm, next(children), n_resamples, threshold))
    return claims
