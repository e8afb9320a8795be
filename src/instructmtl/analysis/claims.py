"""The five claims of DESIGN.md, each as an estimate, a 95% interval and a verdict.

Every claim is judged by the one rule in :mod:`~instructmtl.analysis.verdict`
(supported only when the interval clears the claim's own threshold), and any
claim a failed validity check guards is ``invalid``. Ids and the data each
uses (details in the family modules):

1. ``1`` / ``1.nll``: mean transfer of the final baseline checkpoint,
   primary metric / target NLL (:mod:`~instructmtl.analysis.claims_forgetting`);
2. ``2.change``: transfer (eval half b) against ICL change from the base (eval
   half a) across held-out tasks; ``2.points``: across (arm, checkpoint)
   points; ``2.levels``: the paper's statistic on per-task NLL levels
   (:mod:`~instructmtl.analysis.claims_icl`);
3. ``3``: ICL of the best-generalizing arm minus ICL of the best-fitting arm
   (:mod:`~instructmtl.analysis.claims_method`);
4. ``4.transfer.<arm>`` / ``4.icl.<arm>``: replay arm minus baseline arm
   (``4`` alone, inconclusive, when the study has no replay arm);
5. ``5``: transfer at the earliest baseline checkpoint against ICL change at
   the final one (:mod:`~instructmtl.analysis.claims_icl`).

With a single seed, every claim's details say ``seeds: tasks only``: its
interval then covers task-to-task variance only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from instructmtl.analysis.bootstrap import DEFAULT_RESAMPLES
from instructmtl.analysis.check import Check
from instructmtl.analysis.claims_forgetting import claim_forgetting, claim_replay
from instructmtl.analysis.claims_icl import claim_change, claim_early, claim_levels, claim_points
from instructmtl.analysis.claims_method import claim_mtl_method
from instructmtl.analysis.measures import ResultTable
from instructmtl.analysis.verdict import DEFAULT_THRESHOLD, Claim, apply_checks, inconclusive_claim
from instructmtl.errors import InstructMTLError

__all__ = ["SINGLE_SEED", "evaluate_claims"]

SINGLE_SEED = "tasks only"


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
    excluded_arms: Sequence[str] = (),
    checks: Sequence[Check] = (),
) -> list[Claim]:
    """Evaluates all five claims, then applies the validity checks.

    Each claim draws from its own child of ``rng`` (``rng.spawn``), in a fixed
    order, so the same seed gives the same intervals.

    Args:
        table: the study's results.
        baseline_arm: the arm claims 1, 2, 4 and 5 are about / compare against.
        replay_arms: arms that mix in pretraining text (claim 4).
        rng: seeded generator.
        n_resamples: bootstrap resamples per interval.
        threshold: weakest correlation that counts as "predicts" (claims 2 and 5).
        excluded_arms: arms claim 3 leaves out (replay, regularized, LoRA):
            they change what is trained, not how the MTL objective is fitted.
        checks: validity checks; a failed one makes the claims it guards ``invalid``.

    Returns:
        The claims in id order: 1, 1.nll, 2.change, 2.points, 2.levels, 3, 4.*, 5.

    Raises:
        InstructMTLError: the baseline or a replay arm has no data.
    """
    _check_arms(table, baseline_arm, replay_arms)
    children = iter(rng.spawn(5))
    claims = [
        claim_forgetting(table, baseline_arm, "transfer"),
        claim_forgetting(table, baseline_arm, "transfer_nll"),
        claim_change(table, baseline_arm, next(children), n_resamples, threshold),
        claim_points(table, next(children), n_resamples, threshold),
        claim_levels(table, baseline_arm, next(children), n_resamples, threshold),
        claim_mtl_method(table, excluded_arms, next(children), n_resamples),
    ]
    for arm in replay_arms:
        for quantity in ("transfer", "icl"):
            claims.append(claim_replay(table, arm, baseline_arm, quantity))
    if not replay_arms:
        claims.append(
            inconclusive_claim(
                "4", "Replay mitigates forgetting (no replay arm in this study).", "no replay arm; add one to the study"
            )
        )
    claims.append(claim_early(table, baseline_arm, next(children), n_resamples, threshold))
    if len(table.seeds()) == 1:  # the bootstrap can only resample tasks
        claims = [replace(c, details={**c.details, "seeds": SINGLE_SEED}) for c in claims]
    return apply_checks(claims, checks)
