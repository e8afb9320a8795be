"""Claims 1 and 4: forgetting of parameter transfer, and whether replay mitigates it.

Both are means over held-out tasks and seeds at the final checkpoints, judged
against the null (0) in the claimed direction:

* ``1`` / ``1.nll``: mean transfer (``n > 0``) of the baseline arm, on each
  task's primary metric / on target NLL (where forgetting is a *positive*
  difference, so the claimed direction flips); other arms go in the details;
* ``4.transfer.<arm>`` / ``4.icl.<arm>``: replay arm minus baseline arm,
  paired by task and seed.
"""

from __future__ import annotations

import math

from instructmtl.analysis.bootstrap import Panel
from instructmtl.analysis.measures import QUANTITIES, ResultTable, at_final
from instructmtl.analysis.variance import Components, difference_interval, mean_intervals, unit_components
from instructmtl.analysis.verdict import MIN_TASKS, Claim, Details, judged_claim

__all__ = [
    "arm_components",
    "claim_forgetting",
    "claim_replay",
    "design_details",
    "final_panel",
    "final_sides",
    "paired_components",
]


def final_panel(table: ResultTable, quantity: str, arm: str, subset: str = "") -> Panel:
    """One arm's final-checkpoint values of ``quantity`` (on one eval subset) as a single-unit panel."""
    return Panel.from_rows(
        at_final(table.rows(QUANTITIES[quantity], arm=arm, subset=subset)), lambda r: r.arm, units=[arm]
    )


def final_sides(table: ResultTable, quantity: str, arm: str) -> tuple[Panel, Panel, Panel]:
    """:func:`final_panel` on all eval instances and on halves a and b (what paired components take)."""
    return (
        final_panel(table, quantity, arm),
        final_panel(table, quantity, arm, "a"),
        final_panel(table, quantity, arm, "b"),
    )


def _too_few_tasks(panel: Panel) -> str:
    return f"needs >= {MIN_TASKS} tasks (has {panel.n_tasks})" if panel.n_tasks < MIN_TASKS else ""


def design_details(components: Components) -> Details:
    """The variance components behind a mean's interval and MDE, for the reader."""
    shares = ", ".join(f"{k} {v:.0%}" for k, v in components.shares().items() if math.isfinite(v))
    note = "" if components.within_known else " (no eval halves: instance noise is inside task×seed)"
    return {"variance of the mean, by source": (shares or "undefined") + note}


def arm_components(table: ResultTable, quantity: str, arm: str) -> Components:
    """Components of ``quantity`` at ``arm``'s final checkpoints, instance noise from the eval halves."""
    full, half_a, half_b = final_sides(table, quantity, arm)
    return unit_components(full, 0, (half_a, half_b))


def claim_forgetting(table: ResultTable, arm: str, quantity: str) -> Claim:
    """Claim 1 on ``transfer`` (primary metric) or ``transfer_nll``; other arms go in the details."""
    q = QUANTITIES[quantity]
    direction = -1 if q.higher_is_better else 1
    panel = final_panel(table, quantity, arm)
    iv = mean_intervals(panel)[0]
    components = arm_components(table, quantity, arm)
    details: Details = {
        f"arm {a}": str(mean_intervals(final_panel(table, quantity, a))[0]) for a in table.arms() if a != arm
    }
    details.update(design_details(components))
    side = "below 0 (worse than the base)" if direction < 0 else "above 0 (higher NLL than the base)"
    statement = (
        f"Instruction-tuning makes parameters a worse start for unseen tasks: mean {q.label} of the "
        f"final '{arm}' checkpoint over held-out tasks (n > 0) is {side}."
    )
    cid = "1" if quantity == "transfer" else "1.nll"
    return judged_claim(
        cid,
        statement,
        iv,
        (panel.n_tasks, panel.n_seeds),
        direction=direction,
        threshold=0.0,
        details=details,
        too_thin=_too_few_tasks(panel),
        mde=components.mde(),
    )


def paired_components(a: tuple[Panel, Panel, Panel], b: tuple[Panel, Panel, Panel]) -> Components:
    """Components of the paired difference ``a - b``; each side is (all instances, half a, half b)."""
    (_, full), (_, half_a), (_, half_b) = (difference_interval(x, y) for x, y in zip(a, b, strict=True))
    return unit_components(full, 0, (half_a, half_b))


def claim_replay(table: ResultTable, replay_arm: str, baseline_arm: str, quantity: str) -> Claim:
    """Claim 4 for one replay arm and one quantity (``transfer`` or ``icl``)."""
    sides = [final_sides(table, quantity, arm) for arm in (replay_arm, baseline_arm)]
    iv, diff = difference_interval(sides[0][0], sides[1][0])
    components = paired_components(sides[0], sides[1])
    statement = (
        f"Replay mitigates forgetting: mean {QUANTITIES[quantity].label} of '{replay_arm}' minus "
        f"'{baseline_arm}' (final checkpoints, paired by task and seed) is above 0."
    )
    return judged_claim(
        f"4.{quantity}.{replay_arm}",
        statement,
        iv,
        (diff.n_tasks, diff.n_seeds),
        direction=1,
        threshold=0.0,
        details=design_details(components),
        too_thin=_too_few_tasks(diff),
        mde=components.mde(),
    )
