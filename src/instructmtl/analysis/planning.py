"""Sizing a study from a pilot: each claim's MDE as a function of the design, and the cheapest design per target.

A pilot's results give, per claim, what its precision depends on:

* a mean or paired difference (claims 1, 1.nll, 3, 4.*): variance components
  (:class:`~instructmtl.analysis.variance.Components`), so the MDE of any design
  (tasks, seeds, eval instances per cell) follows in closed form;
* a correlation across held-out tasks (2.change, 2.levels, 5): Fisher's z at
  the number of tasks, attenuated by the pilot's split-half reliability where
  it was measured (2.change);
* a correlation across (arm, checkpoint) points (2.points): more tasks do not
  add points; it is sized by arms and checkpoints, which the planner leaves to
  the researcher (reported, not searched).

Wall time comes from the pilot's own job times per stage, scaled by what each
stage's work grows with: tuning with seeds; evaluation with seeds × held-out
tasks × eval instances; transfer with seeds × held-out tasks (its fine-tunes
dominate; the scoring share that grows with instances is left out, stated in
the output).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist

from instructmtl.analysis.claims_forgetting import arm_components, final_panel, final_sides, paired_components
from instructmtl.analysis.claims_icl import panel_reliability
from instructmtl.analysis.claims_method import typical_pair_components
from instructmtl.analysis.measures import ResultTable
from instructmtl.analysis.reliability import attenuation_ceiling
from instructmtl.analysis.variance import ALPHA, Components, Design
from instructmtl.analysis.verdict import correlation_mde

__all__ = [
    "ClaimPrecision",
    "DesignCost",
    "DEFAULT_AIMS",
    "Target",
    "cost_of",
    "StageSeconds",
    "candidate_designs",
    "claim_precisions",
    "cheapest_design",
]

#: Stages whose pilot job times the cost model scales.
STAGES = ("tune", "eval", "transfer")


@dataclass(frozen=True)
class ClaimPrecision:
    """What one claim's precision depends on.

    Attributes:
        claim_id: the claim's id.
        kind: ``mean`` (components), ``task correlation`` (Fisher z over tasks) or
            ``point correlation`` (not sized by tasks).
        components: the pilot's variance components (``mean`` only).
        threshold: the claim's threshold (correlations).
        ceiling: the reliability ceiling on an observed r, if measured (2.change).
    """

    claim_id: str
    kind: str
    components: Components | None = None
    threshold: float = 0.0
    ceiling: float | None = None

    def mde(self, design: Design) -> float:
        """The claim's MDE under ``design`` (NaN when the design does not size it)."""
        if self.kind == "mean" and self.components is not None:
            return self.components.mde(design)
        if self.kind == "task correlation":
            return correlation_mde(design.tasks, self.threshold, self.ceiling)
        return float("nan")

    def half_width(self, design: Design) -> float:
        """The design's 95% half-width: a mean's from its components, a task correlation's at r = 0 (its widest)."""
        if self.kind == "mean" and self.components is not None:
            return self.components.half_width(design)
        if self.kind == "task correlation" and design.tasks > 3:
            return math.tanh(NormalDist().inv_cdf(1 - ALPHA / 2) / math.sqrt(design.tasks - 3))
        return float("nan")


@dataclass(frozen=True)
class Target:
    """A precision a claim must reach: its MDE or its 95% half-width at most ``value``, in the claim's unit."""

    claim_id: str
    measure: str  # "mde" | "half-width"
    value: float

    def met(self, precision: ClaimPrecision, design: Design) -> bool:
        """Whether ``design`` reaches this target for ``precision``'s claim."""
        got = precision.mde(design) if self.measure == "mde" else precision.half_width(design)
        return math.isfinite(got) and got <= self.value


#: The precision aims of the default study (issue "Power to decide"): 95% half-widths.
DEFAULT_AIMS = (
    Target("1", "half-width", 0.04),
    Target("1.nll", "half-width", 0.15),
    Target("2.change", "half-width", 0.4),
    Target("2.levels", "half-width", 0.4),
    Target("5", "half-width", 0.4),
)


@dataclass(frozen=True)
class StageSeconds:
    """The pilot's measured cost: summed job seconds per stage, its design and its parallel workers."""

    seconds: Mapping[str, float]
    pilot: Design
    workers: int

    def wall_seconds(self, design: Design) -> dict[str, float]:
        """Estimated wall seconds per stage for ``design`` (and ``total``)."""
        p = self.pilot
        seeds = design.seeds / p.seeds
        tasks = design.tasks / max(p.tasks, 1)
        instances = design.instances / max(p.instances, 1e-12)
        scale = {"tune": seeds, "eval": seeds * tasks * instances, "transfer": seeds * tasks}
        out = {stage: self.seconds.get(stage, 0.0) * scale[stage] / self.workers for stage in STAGES}
        out["total"] = sum(out.values())
        return out


@dataclass(frozen=True)
class DesignCost:
    """A design with its wall time and the MDE of every claim under it."""

    design: Design
    wall_seconds: float
    mde: dict[str, float]


def claim_precisions(
    table: ResultTable,
    *,
    baseline_arm: str,
    replay_arms: Sequence[str],
    excluded_arms: Sequence[str],
    threshold: float,
    instances: float,
) -> list[ClaimPrecision]:
    """The precision model of every claim the pilot can size, in claim order.

    Args:
        table: the pilot's scores.
        baseline_arm / replay_arms / excluded_arms: as for :func:`~instructmtl.analysis.evaluate_claims`.
        threshold: the correlation claims' threshold.
        instances: eval instances per held-out cell in the pilot (scales eval-instance noise).
    """

    def with_instances(c: Components) -> Components:
        return replace(c, design=replace(c.design, instances=instances))

    out = [
        ClaimPrecision(cid, "mean", with_instances(arm_components(table, quantity, baseline_arm)))
        for cid, quantity in (("1", "transfer"), ("1.nll", "transfer_nll"))
    ]
    out += [
        ClaimPrecision(
            "2.change", "task correlation", threshold=threshold, ceiling=_reliability_ceiling(table, baseline_arm)
        ),
        ClaimPrecision("2.points", "point correlation", threshold=threshold),
        ClaimPrecision("2.levels", "task correlation", threshold=threshold),
    ]
    typical = typical_pair_components(table, [a for a in table.arms() if a not in excluded_arms])
    if typical is not None:
        out.append(ClaimPrecision("3", "mean", with_instances(typical)))
    for arm in replay_arms:
        for quantity in ("transfer", "icl"):
            components = paired_components(
                final_sides(table, quantity, arm), final_sides(table, quantity, baseline_arm)
            )
            out.append(ClaimPrecision(f"4.{quantity}.{arm}", "mean", with_instances(components)))
    out.append(ClaimPrecision("5", "task correlation", threshold=threshold))
    return out


def _reliability_ceiling(table: ResultTable, arm: str) -> float | None:
    """sqrt(rel_transfer × rel_icl_change) of the pilot's final checkpoints, from the eval halves."""
    rels = [
        panel_reliability(final_panel(table, q, arm, "a"), final_panel(table, q, arm, "b"))[1]
        for q in ("transfer", "icl_change")
    ]
    ceiling = attenuation_ceiling(*rels)
    return ceiling if math.isfinite(ceiling) else None


#: Fewest seeds the planner proposes: with one seed the interval cannot see seed-to-seed variance at all
#: ("tasks only"), and with two its t quantile has about one degree of freedom for it.
MIN_SEEDS = 3


def candidate_designs(
    pilot: Design, *, max_tasks: int, max_seeds: int = 10, instance_factors: Iterable[float] = (1, 2, 4)
) -> list[Design]:
    """The grid the planner searches: 10 to ``max_tasks`` tasks, 3 to ``max_seeds`` seeds, instance multiples.

    Fewer than 10 held-out tasks is not searched: a mean over a handful of tasks may be
    precise about those tasks and still say little about unseen tasks in general.
    """
    tasks = sorted({*range(10, max_tasks + 1, 5), pilot.tasks, max_tasks})
    return [
        Design(t, s, pilot.instances * f)
        for t, s, f in itertools.product(tasks, range(MIN_SEEDS, max_seeds + 1), instance_factors)
        if t >= 2
    ]


def cost_of(design: Design, precisions: Sequence[ClaimPrecision], costs: StageSeconds) -> DesignCost:
    """A design's wall time and every claim's MDE under it."""
    return DesignCost(design, costs.wall_seconds(design)["total"], {p.claim_id: p.mde(design) for p in precisions})


def cheapest_design(
    targets: Sequence[Target], precisions: Sequence[ClaimPrecision], costs: StageSeconds, designs: Sequence[Design]
) -> DesignCost | None:
    """The design of least wall time that meets every target whose claim the pilot can size (None: no such design)."""
    by_id = {p.claim_id: p for p in precisions}
    wanted = [t for t in targets if t.claim_id in by_id]
    best: DesignCost | None = None
    for design in designs:
        if all(t.met(by_id[t.claim_id], design) for t in wanted):
            candidate = cost_of(design, precisions, costs)
            if best is None or candidate.wall_seconds < best.wall_seconds:
                best = candidate
    return best
