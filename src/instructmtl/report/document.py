"""The report as a list of format-neutral blocks (headings, paragraphs, tables, figures, code).

Markdown and HTML show the same content; building it once here and rendering
it twice (:mod:`~instructmtl.report.markdown`, :mod:`~instructmtl.report.html`)
keeps the two from drifting apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from instructmtl.analysis import Check, Claim, Interval
from instructmtl.analysis.measures import QUANTITIES
from instructmtl.analysis.tables import ARM_QUANTITIES
from instructmtl.report.content import FigureImage, ReportContent

__all__ = ["Block", "Code", "Heading", "Image", "Paragraph", "Table", "build_document", "fmt"]

VERDICT_RULE = (
    "Verdict rule: each claim states a direction and a threshold (the null, 0, for a mean or difference; the "
    "weakest r that counts for a \"predicts\" claim). 'supported' when the 95% interval lies wholly beyond the "
    "threshold on the claimed side; 'not supported' when it lies wholly on the other side; 'inconclusive' when "
    "it contains the threshold or is undefined (too few tasks, seeds, arms or checkpoints); 'invalid' when a "
    "validity check the claim depends on failed. Transfer on target NLL has the opposite sign: there, forgetting "
    "is a positive difference. With a single seed ('seeds: tasks only' in the details) an interval covers "
    "task-to-task variance only. Intervals of means and paired differences are the estimate ± t × SE with the SE "
    "from task, seed, task×seed and eval-instance variance components (Satterthwaite degrees of freedom, "
    "calibrated with few seeds); correlations and claim 3 use a cluster bootstrap over tasks and seeds. The MDE "
    "column is the design's minimum detectable effect at 80% power (two-sided 5%), distance from the threshold "
    "in the claim's own unit: a property of the design, not of this outcome. An inconclusive interval says "
    "which effects it excludes; it never says there is no effect below the MDE."
)
NO_CHECKS = (
    "No validity checks were handed to this report: every verdict below assumes the study really "
    'instruction-tuned and measured cleanly (DESIGN.md, "Validity").'
)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    figure: FigureImage


@dataclass(frozen=True)
class Code:
    text: str
    language: str


Block = Heading | Paragraph | Table | Image | Code


def fmt(value: float) -> str:
    """Three significant digits; ``n/a`` for NaN (an undefined statistic)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3g}"


def _interval(iv: Interval) -> str:
    return f"{fmt(iv.estimate)} [{fmt(iv.low)}, {fmt(iv.high)}]"


def _claim_rows(claims: tuple[Claim, ...]) -> Table:
    return Table(
        ("id", "claim", "estimate", "95% interval", "MDE (80% power)", "tasks", "seeds", "verdict", "reason"),
        tuple(
            (
                c.id,
                c.statement,
                fmt(c.estimate),
                f"[{fmt(c.ci_low)}, {fmt(c.ci_high)}]",
                fmt(c.mde),
                str(c.n_tasks),
                str(c.n_seeds),
                c.verdict,
                c.reason,
            )
            for c in claims
        ),
    )


def _check_value(value: float | str | None) -> str:
    if value is None:
        return "n/a"
    return value if isinstance(value, str) else fmt(value)


def _checks(checks: tuple[Check, ...]) -> list[Block]:
    """The validity checks, before any claim: a failed one voids the claims it guards."""
    if not checks:
        return [Heading(2, "Validity checks"), Paragraph(NO_CHECKS)]
    outcome = {True: "passed", False: "failed", None: "not checked"}
    rows = tuple(
        (c.name, outcome[c.passed], _check_value(c.value), _check_value(c.threshold), c.detail) for c in checks
    )
    return [
        Heading(2, "Validity checks"),
        Paragraph(
            "A failed check makes the claims it guards 'invalid' (the reason names it); 'not checked' "
            "means the study could not run it (e.g. a streamed corpus cannot be scanned)."
        ),
        Table(("check", "result", "value", "threshold", "detail"), rows),
    ]


def _notes(notes: tuple[str, ...]) -> list[Block]:
    """What the reader must know about the study's inputs that no threshold can say (the base's history...)."""
    if not notes:
        return []
    return [Heading(3, "Validity notes"), *(Paragraph(note) for note in notes)]


def _details(claims: tuple[Claim, ...]) -> Table:
    rows = tuple(
        (c.id, key, value if isinstance(value, str) else fmt(value)) for c in claims for key, value in c.details.items()
    )
    return Table(("claim", "detail", "value"), rows)


def _overview(content: ReportContent) -> list[Block]:
    s = content.study
    replay = ", ".join(content.replay_arms) or "none"
    excluded = ", ".join(content.excluded_arms) or "none"
    return [
        Heading(1, f"instructmtl report: {s.name}"),
        Paragraph(
            f"Study `{s.study_id}` (config hash `{s.config_hash}`, created {s.created_at}): {content.n_scores} score "
            f"rows; arms {', '.join(content.arms)}; seeds {', '.join(map(str, content.seeds))}. Baseline arm "
            f"`{content.baseline_arm}`; replay arms: {replay}; arms left out of claim 3: {excluded}. "
            "Intervals are 95% two-way cluster-bootstrap "
            f"intervals (tasks and seeds resampled with replacement), {content.n_resamples} resamples, "
            f"bootstrap seed {content.seed}."
        ),
    ]


def _results(content: ReportContent) -> list[Block]:
    arm_header = ("arm", *(QUANTITIES[q].label for q in ARM_QUANTITIES), "seeds")
    arm_rows = tuple(
        (r.arm, *(_interval(r.values[q]) for q in ARM_QUANTITIES), str(r.n_seeds)) for r in content.arm_rows
    )
    task_rows = tuple(
        (t.task, fmt(t.early_transfer), fmt(t.final_transfer), fmt(t.icl_base), fmt(t.icl_final))
        for t in content.task_rows
    )
    return [
        *_checks(content.checks),
        *_notes(content.notes),
        Heading(2, "Claims"),
        _claim_rows(content.claims),
        Paragraph(VERDICT_RULE),
        Heading(3, "Claim details"),
        _details(content.claims),
        Heading(2, "Per-arm results (final checkpoints)"),
        Table(arm_header, arm_rows),
        Heading(2, "Figures"),
        *(Image(f) for f in content.figures),
        Heading(2, f"Per task: earliest vs final checkpoint ('{content.baseline_arm}')"),
        Paragraph(
            "Means over seeds; transfer on each task's primary metric, n > 0; ICL score at the base "
            "model and at the final checkpoint."
        ),
        Table(("task", "transfer (earliest)", "transfer (final)", "ICL (base)", "ICL (final)"), task_rows),
    ]


def _appendix(content: ReportContent) -> list[Block]:
    versions = tuple((name, version) for name, version in sorted(content.study.versions.items()))
    runs = tuple(
        (
            r.run_id,
            r.arm,
            str(r.seed),
            r.kind,
            r.status,
            fmt(r.seconds) if r.seconds is not None else "n/a",
            str(r.examples_seen) if r.examples_seen is not None else "n/a",
        )
        for r in content.runs
    )
    statuses = ("done", "failed", "pending", "running")
    stages = tuple(
        (
            s.stage,
            *(str(s.counts.get(k, 0)) for k in statuses),
            fmt(s.seconds),
            fmt(s.estimated_seconds) if s.estimated_seconds is not None else "n/a",
        )
        for s in content.stages
    )
    return [
        Heading(2, "Appendix"),
        Heading(3, "Config"),
        Code(content.study.config_yaml, "yaml"),
        Heading(3, "Seeds"),
        Paragraph(f"Run seeds: {', '.join(map(str, content.seeds))}; bootstrap seed: {content.seed}."),
        Heading(3, "Package versions"),
        Table(("package", "version"), versions),
        Heading(3, "Run times"),
        Table(("run", "arm", "seed", "kind", "status", "seconds", "examples seen"), runs),
        Table(("stage", *statuses, "seconds", "estimated seconds"), stages),
        *_cost_paragraph(content),
    ]


def _cost_paragraph(content: ReportContent) -> list[Block]:
    cost = content.cost
    if cost is None:
        return []
    measured = (
        f"measured {cost.measured_seconds / 60:.1f} min from the first job's start to the last one's end "
        f"(estimate / measured {cost.estimated_seconds / cost.measured_seconds:.2f})"
        if cost.measured_seconds
        else "nothing measured yet"
    )
    return [
        Paragraph(
            f"Seconds are summed job times. Before the run, `instructmtl plan`'s cost model estimated "
            f"{cost.estimated_seconds / 60:.1f} min of wall time on {cost.device}; {measured}."
        )
    ]


def build_document(content: ReportContent) -> list[Block]:
    """The whole report, in order."""
    return [*_overview(content), *_results(content), *_appendix(content)]
