"""A claim's outcome and the one verdict rule every claim uses.

Verdict rule (DESIGN.md; the tool never assumes the paper is right). Each
claim states a direction and a threshold: "r is positive and not below 0.3"
(threshold 0.3), "the mean is below 0" (threshold 0, the null). Turned so
that the claim reads "above the threshold", its 95% interval is

* **supported** when it lies wholly above the threshold (for a correlation
  claim, a lower end above 0 but below 0.3 is *not* enough: that is what the
  claim's threshold is for);
* **not supported** when it lies wholly below the threshold;
* **inconclusive** when it straddles the threshold, when it is undefined
  (too few tasks, seeds, arms or checkpoints for the statistic), or when the
  data are too thin for the statistic to mean anything (``reason`` says which);
* **invalid** when a validity check it depends on failed
  (:func:`apply_checks`); the estimate and interval are still shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from statistics import NormalDist
from typing import Literal

from instructmtl.analysis.bootstrap import Interval
from instructmtl.analysis.check import Check

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_TASKS",
    "MIN_UNITS",
    "UNDEFINED",
    "Claim",
    "Verdict",
    "apply_checks",
    "correlation_claim",
    "correlation_mde",
    "inconclusive_claim",
    "inconclusive_reason",
    "judged_claim",
    "verdict",
]

Verdict = Literal["supported", "not supported", "inconclusive", "invalid"]
DEFAULT_THRESHOLD = 0.3  # below it a predictor explains under 10% of the variance: not what "predicts" means
MIN_TASKS = 2  # a mean over one task has no task-level spread to bootstrap
MIN_UNITS = 3  # a correlation over two points is always ±1
UNDEFINED = Interval(float("nan"), float("nan"), float("nan"))
_UNDEFINED_REASON = (
    "interval undefined: under 90% of bootstrap resamples define the statistic "
    "(too few tasks, seeds or distinct values)"
)

Counts = tuple[int, int]  # (tasks, seeds) an estimate rests on
Details = dict[str, str | float]


@dataclass(frozen=True)
class Claim:
    """One claim's outcome.

    Attributes:
        id: short id (``1``, ``2.change``, ``4.icl.replay_0.2``, ...).
        statement: the claim in words, with its statistic, direction and threshold.
        estimate: the point estimate.
        ci_low / ci_high: 95% cluster-bootstrap interval (NaN if undefined).
        n_tasks / n_seeds: tasks and seeds the estimate rests on.
        verdict: ``supported``, ``not supported``, ``inconclusive`` or ``invalid``.
        reason: why the verdict is ``invalid`` or ``inconclusive`` (which
            check failed, what data are missing); ``""`` otherwise.
        details: further numbers (other methods, other arms, ranks), for reading.
        mde: the design's minimum detectable effect at 80% power (two-sided 5%), in the
            claim's own unit, distance from its threshold; a property of the design
            (tasks, seeds, eval instances, variance components), not of this outcome.
            NaN when it cannot be computed.
    """

    id: str
    statement: str
    estimate: float
    ci_low: float
    ci_high: float
    n_tasks: int
    n_seeds: int
    verdict: Verdict
    reason: str = ""
    details: Details = field(default_factory=dict)
    mde: float = float("nan")

    def to_json(self) -> dict[str, object]:
        """A JSON-able dict (NaN becomes ``None``, in the details too)."""
        out = asdict(self)
        for key in ("estimate", "ci_low", "ci_high", "mde"):  # JSON has no NaN or infinity
            out[key] = None if not math.isfinite(out[key]) else out[key]
        out["details"] = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in self.details.items()}
        return out


def verdict(interval: Interval, *, direction: int, threshold: float = 0.0) -> Verdict:
    """Applies the module's verdict rule to one interval.

    Args:
        interval: the estimate's 95% interval.
        direction: +1 if the claim says "above ``threshold``", -1 if "below".
        threshold: the value the interval must clear: the null (0) for a
            mean or difference, the weakest correlation that counts for a
            "predicts" claim. Given with the claim's sign.

    Returns:
        ``supported``, ``not supported`` or ``inconclusive`` (never
        ``invalid``: that comes from the checks, not from the numbers).
    """
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "inconclusive"
    # turn everything so that the claim reads "above threshold"
    low, high = sorted((interval.low * direction, interval.high * direction))
    limit = threshold * direction
    if low > limit:
        return "supported"
    if high < limit:
        return "not supported"
    return "inconclusive"


def judged_claim(  # noqa: PLR0913  one argument per input of the verdict rule, keyword-only past the interval
    cid: str,
    statement: str,
    iv: Interval,
    counts: Counts,
    *,
    direction: int,
    threshold: float,
    details: Details,
    too_thin: str = "",
    mde: float = float("nan"),
) -> Claim:
    """A claim whose verdict follows the rule, unless the data are too thin to judge.

    Args:
        cid / statement: the claim's id and words.
        iv: estimate and interval.
        counts: (tasks, seeds) the estimate rests on.
        direction / threshold: see :func:`verdict`.
        details: further numbers for the reader.
        too_thin: non-empty when the statistic means nothing on these data
            (e.g. ``needs >= 2 tasks``): the verdict is then ``inconclusive``
            with this reason whatever the interval says.
        mde: the design's minimum detectable effect (see :class:`Claim`).
    """
    v: Verdict
    if too_thin:
        v, reason = "inconclusive", too_thin
    else:
        v = verdict(iv, direction=direction, threshold=threshold)
        defined = math.isfinite(iv.low) and math.isfinite(iv.high)
        reason = "" if defined else _UNDEFINED_REASON
        if v == "inconclusive" and defined:
            reason = inconclusive_reason(iv, threshold, mde)
    return Claim(cid, statement, iv.estimate, iv.low, iv.high, counts[0], counts[1], v, reason, details, mde)


def inconclusive_reason(iv: Interval, threshold: float, mde: float) -> str:
    """What an interval that straddles the threshold still says, with the design's MDE beside it.

    Read from the interval (the effects it excludes), never "no effect larger than
    the MDE": that reading of a non-significant result is the post-hoc power fallacy.
    """
    text = (
        f"the 95% interval [{iv.low:.3g}, {iv.high:.3g}] contains the threshold {threshold:g}; "
        f"it excludes true values below {iv.low:.3g} and above {iv.high:.3g}"
    )
    if math.isfinite(mde):
        text += (
            f"; this design detects an effect of {mde:.3g} from the threshold with 80% power"
            " (`instructmtl plan` sizes a larger one)"
        )
    return text


def correlation_claim(
    cid: str,
    statement: str,
    intervals: dict[str, Interval],
    n_points: int,
    counts: Counts,
    threshold: float,
    details: Details,
) -> Claim:
    """A "predicts" claim judged on its Pearson r; the other coefficients go in the details.

    Args:
        intervals: by method (``pearson``, ``spearman``, ``kendall``).
        n_points: points the correlation is over (tasks, or (arm, step) units).
        counts: (tasks, seeds) behind the points.
        threshold: the weakest r that counts as "predicts".
    """
    details = {**details, **{m: str(i) for m, i in intervals.items() if m != "pearson"}, "points": n_points}
    mde = correlation_mde(n_points, threshold, details.get("ceiling on r: sqrt(rel_x * rel_y)"))
    too_thin = ""
    if n_points < MIN_UNITS:
        too_thin = f"needs >= {MIN_UNITS} points (has {n_points})"
    elif counts[0] < MIN_TASKS:  # points averaged over one task carry no task-level uncertainty
        too_thin = f"needs >= {MIN_TASKS} tasks (has {counts[0]})"
    return judged_claim(
        cid,
        statement,
        intervals["pearson"],
        counts,
        direction=1,
        threshold=threshold,
        details=details,
        too_thin=too_thin,
        mde=mde,
    )


def correlation_mde(n_points: int, threshold: float, ceiling: object = None) -> float:
    """Distance above ``threshold`` of the smallest true r that ``n_points`` detect with 80% power.

    Fisher's z: ``atanh(r)`` has standard error ``1 / sqrt(n - 3)``; the claim is supported
    when the interval clears the threshold, so the detectable r is
    ``tanh(atanh(threshold) + (z(0.975) + z(0.8)) / sqrt(n - 3))``. Measurement noise
    attenuates an observed r by the ceiling ``sqrt(rel_x * rel_y)`` when it is known, so the
    true r needed is that much larger (capped at 1); a ceiling of 0 (a side whose per-task
    values are noise) makes every r undetectable: infinity. Seeds enter only through the
    points' reliability; the points are what the interval resamples.
    """
    if isinstance(ceiling, float) and ceiling <= 0:
        return math.inf
    if n_points <= 3:
        return float("nan")
    observed = math.tanh(
        math.atanh(threshold) + (NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)) / math.sqrt(n_points - 3)
    )
    if isinstance(ceiling, float) and 0 < ceiling <= 1:
        observed = min(observed / ceiling, 1.0)
    return observed - threshold


def inconclusive_claim(
    cid: str, statement: str, reason: str, details: Details | None = None, counts: Counts = (0, 0)
) -> Claim:
    """A claim that could not be estimated at all (missing data), with the reason."""
    nan = float("nan")
    return Claim(cid, statement, nan, nan, nan, counts[0], counts[1], "inconclusive", reason, details or {})


def apply_checks(claims: Sequence[Claim], checks: Sequence[Check]) -> list[Claim]:
    """Turns every claim a failed check guards into ``invalid``, naming the checks and their figures.

    A check that passed or could not be run (``passed is None``) changes
    nothing; the report lists it either way.
    """
    out = []
    for claim in claims:
        failed = [c for c in checks if c.passed is False and c.guards(claim.id)]
        if failed:
            reason = "failed check: " + "; ".join(f"{c.name} ({c.detail})" for c in failed)
            claim = replace(claim, verdict="invalid", reason=reason)
        out.append(claim)
    return out
