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

import numpy as np

from instructmtl.analysis.bootstrap import Panel, difference_interval, mean_intervals
from instructmtl.analysis.measures import QUANTITIES, ResultTable, at_final
from instructmtl.analysis.verdict import MIN_TASKS, Claim, Details, judged_claim

__all__ = ["claim_forgetting", "claim_replay", "final_panel"]


def final_panel(table: ResultTable, quantity: str, arm: str) -> Panel:
    """One arm's final-checkpoint values of ``quantity`` (all eval instances) as a single-unit panel."""
    return Panel.from_rows(at_final(table.rows(QUANTITIES[quantity], arm=arm)), lambda r: r.arm, units=[arm])


def _too_few_tasks(panel: Panel) -> str:
    return f"needs >= {MIN_TASKS} tasks (has {panel.n_tasks})" if panel.n_tasks < MIN_TASKS else ""


def claim_forgetting(table: ResultTable, arm: str, quantity: str, rng: np.random.Generator,
                     n_resamples: int) -> Claim:
    """Claim 1 on ``transfer`` (primary metric) or ``transfer_nll``; other arms go in the details."""
    q = QUANTITIES[quantity]
    direction = -1 if q.higher_is_better else 1
    panel = final_panel(table, quantity, arm)
    iv = mean_intervals(panel, rng, n_resamples)[0]
    details: Details = {f"arm {a}": str(mean_intervals(final_panel(table, quantity, a), rng, n_resamples)[0])
                        for a in table.arms() if a != arm}
    side = "below 0 (worse than the base)" if direction < 0 else "above 0 (higher NLL than the base)"
    statement = (f"Instruction-tuning makes parameters a worse start for unseen tasks: mean {q.label} of the "
                 f"final '{arm}' checkpoint over held-out tasks (n > 0) is {side}.")
    cid = "1" if quantity == "transfer" else "1.nll"
    return judged_claim(cid, statement, iv, (panel.n_tasks, panel.n_seeds), direction=direction, threshold=0.0,
                        details=details, too_thin=_too_few_tasks(panel))


def claim_replay(table: ResultTable, replay_arm: str, baseline_arm: str, quantity: str,
                 rng: np.random.Generator, n_resamples: int) -> Claim:
    """Claim 4 for one replay arm and one quantity (``transfer`` or ``icl``)."""
    iv, diff = difference_interval(final_panel(table, quantity, replay_arm),
                                   final_panel(table, quantity, baseline_arm), rng, n_resamples)
    statement = (f"Replay mitigates forgetting: mean {QUANTITIES[quantity].label} of '{replay_arm}' minus "
                 f"'{baseline_arm}' (final checkpoints, paired by task and seed) is above 0.")
    return judged_claim(f"4.{quantity}.{replay_arm}", statement, iv, (diff.n_tasks, diff.n_seeds), direction=1,
                        threshold=0.0, details={}, too_thin=_too_few_tasks(diff))
