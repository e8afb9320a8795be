"""Claim 3 as the poster states it: the method that generalizes best, not the one that fits best, gives the best ICL.

Estimate: ICL score (held-out tasks) of the best-generalizing arm minus that
of the best-fitting arm, final checkpoints. Generalization is the mean over
seen tasks of -target NLL on their unseen instances (``mtl_gen``); fit the
same on instances drawn in training (``mtl_fit``); both average each seen
task equally, fixed before looking at the data. Picking the arms is part of
the statistic, so every bootstrap resample picks both again: seeds are drawn
once and shared, seen tasks and held-out tasks are each drawn within their
own panel. Only arms that differ in how they fit the MTL objective compete:
replay, regularized and LoRA arms change *what* is trained, so the caller
leaves them out (``excluded_arms``). Supported when the interval is above 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from instructmtl.analysis.bootstrap import Interval, Panel, boot_unit_means, draw_counts, percentile_interval
from instructmtl.analysis.claims_forgetting import final_sides, paired_components
from instructmtl.analysis.measures import QUANTITIES, ResultTable, at_final
from instructmtl.analysis.variance import Components
from instructmtl.analysis.verdict import MIN_TASKS, Claim, Details, inconclusive_claim, judged_claim

__all__ = ["claim_mtl_method", "typical_pair_components"]

STATEMENT = (
    "The MTL method matters: on held-out tasks, the ICL score of the arm with the best MTL "
    "generalization (-target NLL on seen tasks' unseen instances) minus that of the arm with the best "
    "MTL fit (-target NLL on instances trained on), final checkpoints, is above 0, although every arm "
    "saw the same number of instructions."
)


def _arm_panel(table: ResultTable, quantity: str, arms: Sequence[str], negate: bool) -> Panel:
    p = Panel.from_rows(at_final(table.rows(QUANTITIES[quantity])), lambda r: r.arm, units=arms)
    return Panel(p.units, p.tasks, p.seeds, -p.values if negate else p.values)


def _ranking(arms: Sequence[str], means: np.ndarray) -> str:
    order = np.argsort(-means, kind="stable")
    return " > ".join(arms[i] for i in order)


def _best(means: np.ndarray) -> np.ndarray:
    """Index of the largest unit mean per row of ``(resamples, units)``; an undrawn (NaN) unit never wins."""
    best: np.ndarray = np.argmax(np.nan_to_num(means, nan=-np.inf), axis=1)
    return best


def _picked_difference(gen: np.ndarray, fit: np.ndarray, icl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ICL(best-generalizing) - ICL(best-fitting), and whether the best-generalizing arm has the best ICL."""
    rows = np.arange(len(icl))
    best_gen, best_fit = _best(gen), _best(fit)
    return icl[rows, best_gen] - icl[rows, best_fit], best_gen == _best(icl)


def claim_mtl_method(
    table: ResultTable, excluded_arms: Sequence[str], rng: np.random.Generator, n_resamples: int
) -> Claim:
    """Claim 3: ICL of the best-generalizing arm minus ICL of the best-fitting arm.

    Args:
        table: the study's results.
        excluded_arms: arms that do not compete (replay, regularized, LoRA).
        rng: seeded generator.
        n_resamples: bootstrap resamples.
    """
    candidates = [a for a in table.arms() if a not in excluded_arms]
    panels = [
        _arm_panel(table, q, candidates, negate) for q, negate in (("mtl_gen", True), ("mtl_fit", True), ("icl", False))
    ]
    measured = np.all([np.isfinite(p.point_means()) for p in panels], axis=0)
    arms = [a for a, ok in zip(candidates, measured, strict=True) if ok]
    left_out = ", ".join(a for a in table.arms() if a in excluded_arms) or "none"
    details: Details = {"left out (replay, regularized, LoRA)": left_out}
    if len(arms) < 2:
        return inconclusive_claim(
            "3",
            STATEMENT,
            f"needs >= 2 competing arms with MTL fit, MTL generalization and ICL measured (has {len(arms)})",
            details,
        )
    gen, fit, icl = (p.select_units(arms) for p in panels)
    seeds = sorted(set(gen.seeds) | set(fit.seeds) | set(icl.seeds))
    seen = sorted(set(gen.tasks) | set(fit.tasks))
    gen, fit, icl = gen.align(seen, seeds), fit.align(seen, seeds), icl.align(icl.tasks, seeds)
    seed_counts = draw_counts(rng, n_resamples, len(seeds))
    seen_counts = draw_counts(rng, n_resamples, len(seen))
    held_counts = draw_counts(rng, n_resamples, len(icl.tasks))
    boot_diff, boot_same = _picked_difference(
        boot_unit_means(gen, seen_counts, seed_counts),
        boot_unit_means(fit, seen_counts, seed_counts),
        boot_unit_means(icl, held_counts, seed_counts),
    )
    means = [p.point_means() for p in (gen, fit, icl)]
    diff, _ = _picked_difference(*(m[None, :] for m in means))
    iv: Interval = percentile_interval(float(diff[0]), boot_diff)
    best_gen, best_fit = arms[int(_best(means[0][None, :])[0])], arms[int(_best(means[1][None, :])[0])]
    details.update(
        {
            "best-generalizing arm": best_gen,
            "best-fitting arm": best_fit,
            "P(best-generalizing arm has the best ICL)": float(boot_same.mean()),
            "rank by MTL generalization": _ranking(arms, means[0]),
            "rank by MTL fit": _ranking(arms, means[1]),
            "rank by ICL": _ranking(arms, means[2]),
        }
    )
    if best_gen == best_fit:
        details["note"] = (
            f"'{best_gen}' both fits and generalizes best on the full data: the difference is 0 by construction there"
        )
    too_thin = f"needs >= {MIN_TASKS} held-out tasks (has {icl.n_tasks})" if icl.n_tasks < MIN_TASKS else ""
    return judged_claim(
        "3",
        STATEMENT,
        iv,
        (icl.n_tasks, len(seeds)),
        direction=1,
        threshold=0.0,
        details=details,
        too_thin=too_thin,
        mde=_mde(typical_pair_components(table, arms)),
    )


def _mde(components: Components | None) -> float:
    return components.mde() if components is not None else float("nan")


def typical_pair_components(table: ResultTable, arms: Sequence[str]) -> Components | None:
    """Components of the paired ICL difference of the pair of competing arms with the median MDE.

    Which two arms claim 3 compares is decided by the data, so its design is that of a
    typical pair; the arg-max choice itself adds spread the bootstrap sees. None when no
    pair has defined components.
    """
    sides = {a: final_sides(table, "icl", a) for a in arms}
    pairs = [paired_components(sides[a], sides[b]) for i, a in enumerate(arms) for b in arms[i + 1 :]]
    usable = sorted((c for c in pairs if c.defined), key=lambda c: c.mde())
    return usable[len(usable) // 2] if usable else None
