"""The validity checks of a study: what must hold before any claim gets a verdict.

DESIGN.md ("Validity"): a verdict about instruction-tuning means nothing unless
the study really instruction-tuned and measured cleanly. This module turns the
study's score table plus its *facts* (what the runner measured where the data
is: the trainer's instruction counts, the leakage scans of the split and the
corpora, the arms' sampling distributions and configs, the chance level of
each classification task) into :class:`~instructmtl.analysis.check.Check`
objects. It is pure: the facts arrive as a plain mapping (the results store's
``facts`` table, or any JSON), so the checks can be recomputed from an export.

The checks, each with the claims it guards (a failed check makes them invalid):

* ``tuning fitted (<arm>)``: on every seed, the final checkpoint's content NLL
  on instances it was trained on is at most ``FIT_RATIO`` of the base model's
  on the same instances (every claim).
* ``generalization improved (<arm>)``: the final checkpoint's NLL on the seen
  tasks' unseen instances is below the base's, paired by task and seed, with a
  95% interval wholly below 0 (every claim).
* ``MTL fit on trained instances``: fit was scored on at least
  ``MIN_FIT_COVERAGE`` of the planned seen tasks at every final checkpoint
  (claim 3).
* ``no leakage: <where>``: no held-out eval or few-shot instance in training
  instances, demonstrations, pretraining or replay text (every claim);
  ``not checked`` when the text cannot be scanned.
* ``equal instruction counts``: every run saw the same number of instructions
  (claims 3 and 4).
* ``arms differ in one thing (<arm>)`` and ``sampling differs (<arm>)``
  (claims 3 and 4).
* ``fine-tuning helps the base``: the base model's score at the largest ``n``
  exceeds its ``n = 0`` score, paired interval above 0 (transfer claims 1, 2, 5).
* ``base ICL above chance``: the base's held-out ICL exceeds what a no-skill answer
  scores (majority label for classification, echoing the input or a constant answer
  for generation), interval above 0 (ICL claims 2, 3, 4, 5).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from instructmtl.analysis.bootstrap import Interval, Panel
from instructmtl.analysis.check import Check
from instructmtl.analysis.measures import PRIMARY, QUANTITIES, Quantity, ResultTable, at_final
from instructmtl.analysis.variance import difference_interval, mean_intervals

__all__ = ["FIT_RATIO", "MIN_FIT_COVERAGE", "MIN_SAMPLING_TV", "final_checkpoint_ids", "study_checks"]

#: The final checkpoint's fit NLL must be at most this share of the base model's.
FIT_RATIO = 0.75
#: Share of planned seen tasks that MTL fit must have scored at a final checkpoint.
MIN_FIT_COVERAGE = 0.8
#: Total-variation distance below which a sampling arm does not really differ from the baseline.
MIN_SAMPLING_TV = 0.05

EVERY = ("*",)
TRANSFER_CLAIMS = ("1", "2", "5")
ICL_CLAIMS = ("2", "3", "4.icl", "5")
ARM_CLAIMS = ("3", "4")

_FINETUNE_SCORE = Quantity("finetune_score", "fine-tuned score", "fine-tuned score", "finetune", PRIMARY, "held_out")


def _by_cell(rows: Sequence[Any]) -> dict[tuple[str, int], float]:
    cells: dict[tuple[str, int], list[float]] = {}
    for r in rows:
        cells.setdefault((r.task, r.seed), []).append(r.value)
    return {key: float(np.mean(values)) for key, values in cells.items()}


def fit_checks(table: ResultTable, arms: Sequence[str]) -> list[Check]:
    """``tuning fitted`` and ``generalization improved``, one of each per arm."""
    checks = []
    base_fit = _by_cell(table.base_rows(QUANTITIES["mtl_fit"]))
    base_gen = table.base_rows(QUANTITIES["mtl_gen"])
    for arm in arms:
        final = at_final(table.rows(QUANTITIES["mtl_fit"], arm=arm))
        ratios = []
        for seed in sorted({r.seed for r in final}):
            tuned = _by_cell([r for r in final if r.seed == seed])
            paired = [key for key in tuned if key in base_fit]
            if paired:
                ratios.append(np.mean([tuned[k] for k in paired]) / np.mean([base_fit[k] for k in paired]))
        worst = float(max(ratios)) if ratios else float("nan")
        checks.append(
            Check(
                f"tuning fitted ({arm})",
                (worst <= FIT_RATIO) if ratios else None,
                worst,
                FIT_RATIO,
                f"final content NLL on trained instances / base's, worst seed {worst:.3f} "
                f"(seeds: {', '.join(f'{r:.3f}' for r in ratios) or 'none'})",
                EVERY,
            )
        )
        gen_rows = at_final(table.rows(QUANTITIES["mtl_gen"], arm=arm))
        if not gen_rows or not base_gen:
            checks.append(
                Check(
                    f"generalization improved ({arm})",
                    None,
                    None,
                    0.0,
                    "no MTL generalization scores of the final checkpoint and the base",
                    EVERY,
                )
            )
            continue
        gen = Panel.from_rows(gen_rows, lambda r: "tuned")
        base = Panel.from_rows(base_gen, lambda r: "base")
        iv, _ = difference_interval(gen, base)
        checks.append(
            Check(
                f"generalization improved ({arm})",
                bool(np.isfinite(iv.high)) and iv.high < 0,
                iv.estimate,
                0.0,
                f"final minus base NLL on seen tasks' unseen instances {_interval(iv)} (must be below 0)",
                EVERY,
            )
        )
    return checks


def _interval(iv: Interval) -> str:
    return f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def fit_coverage_check(facts: Mapping[str, Any], final_checkpoints: Sequence[str]) -> Check:
    """Fit scored on enough seen tasks at every final checkpoint, only on instances drawn in training."""
    shares = []
    for checkpoint in final_checkpoints:
        plan = facts.get(f"mtl_fit.{checkpoint}")
        if plan is None:
            continue
        planned = plan["tasks"] + len(plan["skipped"])
        shares.append(plan["tasks"] / planned if planned else 0.0)
    if not shares:
        return Check(
            "MTL fit on trained instances",
            None,
            None,
            MIN_FIT_COVERAGE,
            "no record of the fit instances (a study from before they were recorded)",
            ("3",),
        )
    worst = min(shares)
    return Check(
        "MTL fit on trained instances",
        worst >= MIN_FIT_COVERAGE,
        worst,
        MIN_FIT_COVERAGE,
        f"share of planned seen tasks whose fit instances the final checkpoint drew, worst {worst:.2f}; "
        "only drawn instances are scored",
        ("3",),
    )


def leakage_checks(facts: Mapping[str, Any]) -> list[Check]:
    """One check per scanned text: split, demonstrations, pretraining, replay (``leakage.*`` facts)."""
    checks = []
    for name in sorted(k for k in facts if k.startswith("leakage.")):
        fact = facts[name]
        where = name.removeprefix("leakage.")
        hits = fact.get("hits")
        checked = fact.get("checked", True)
        passed = None if not checked else hits == 0
        detail = fact.get("detail", "")
        checks.append(Check(f"no leakage: {where}", passed, "not checked" if not checked else hits, 0, detail, EVERY))
    return checks


def replay_share_checks(facts: Mapping[str, Any]) -> list[Check]:
    """How much replay text shows held-out task families (reported; it is previously seen data)."""
    checks = []
    for name in sorted(k for k in facts if k.startswith("replay.held_out_share.")):
        arm = name.removeprefix("replay.held_out_share.")
        fact = facts[name]
        share = fact.get("share")
        checks.append(
            Check(
                f"replay shows held-out families ({arm})",
                True,
                share,
                "reported",
                fact.get("detail", f"{share} of replay documents are task patterns of a held-out family"),
                ("4",),
            )
        )
    return checks


def instruction_count_check(facts: Mapping[str, Any]) -> Check | None:
    """Every tuning run saw the same number of instructions (``tune.<run>`` facts)."""
    counts = {k.removeprefix("tune."): v["instructions"] for k, v in facts.items() if k.startswith("tune.")}
    if not counts:
        return None
    distinct = sorted(set(counts.values()))
    detail = ", ".join(f"{run} {n}" for run, n in sorted(counts.items()))
    return Check(
        "equal instruction counts",
        len(distinct) == 1,
        distinct[-1] - distinct[0],
        0,
        f"instructions seen per run: {detail}",
        ARM_CLAIMS,
    )


def arm_checks(facts: Mapping[str, Any]) -> list[Check]:
    """Each arm differs from the baseline in one thing, and a sampling arm's distribution really differs."""
    checks = []
    for name in sorted(k for k in facts if k.startswith("arms.differences.")):
        arm = name.removeprefix("arms.differences.")
        things = facts[name]
        checks.append(
            Check(
                f"arms differ in one thing ({arm})",
                len(things) == 1,
                len(things),
                1,
                f"differs from the baseline in: {', '.join(things) or 'nothing'}",
                ARM_CLAIMS,
            )
        )
    for name in sorted(k for k in facts if k.startswith("sampling.tv.")):
        arm = name.removeprefix("sampling.tv.")
        fact = facts[name]
        if not fact.get("sampler_differs"):
            continue
        tv = float(fact["tv"])
        checks.append(
            Check(
                f"sampling differs ({arm})",
                tv >= MIN_SAMPLING_TV,
                tv,
                MIN_SAMPLING_TV,
                f"total-variation distance of its task-sampling distribution (mean over training) "
                f"from the baseline's: {tv:.3f}",
                ("3",),
            )
        )
    return checks


def finetune_helps_check(table: ResultTable) -> Check:
    """The base model's score at the largest ``n`` minus its ``n = 0`` score, paired by task and seed."""
    rows = table.base_rows(_FINETUNE_SCORE)
    ks = sorted({r.k for r in rows})
    if len(ks) < 2 or ks[0] != 0 or not any(r.step == 0 for r in rows):
        return Check(
            "fine-tuning helps the base",
            None,
            None,
            0.0,
            "needs base fine-tune scores at n = 0 and some n > 0",
            TRANSFER_CLAIMS,
        )
    top = Panel.from_rows([r for r in rows if r.k == ks[-1]], lambda r: "top")
    zero = Panel.from_rows([r for r in rows if r.k == 0], lambda r: "zero")
    iv, _ = difference_interval(top, zero)
    return Check(
        "fine-tuning helps the base",
        bool(np.isfinite(iv.low)) and iv.low > 0,
        iv.estimate,
        0.0,
        f"base score at n = {ks[-1]} minus n = 0 {_interval(iv)} (must be above 0)",
        TRANSFER_CLAIMS,
    )


def chance_baselines(facts: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """Task → (metric, no-skill score) from the ``chance`` fact.

    Stores written before generation baselines were recorded hold a bare majority-label
    rate per classification task; it reads as an accuracy baseline.
    """
    out = {}
    for task, level in facts.get("chance", {}).items():
        out[task] = (
            ("accuracy", float(level))
            if isinstance(level, (int, float))
            else (str(level["metric"]), float(level["value"]))
        )
    return out


def chance_check(table: ResultTable, facts: Mapping[str, Any]) -> Check:
    """The base model's held-out ICL above what a no-skill answer scores, per task in its own metric."""
    chance = chance_baselines(facts)
    rows = [r for r in table.base_rows(QUANTITIES["icl"]) if r.task in chance and r.metric == chance[r.task][0]]
    if not rows:
        return Check("base ICL above chance", None, None, 0.0, "no held-out task with a chance level", ICL_CLAIMS)
    above = [replace(r, value=r.value - chance[r.task][1]) for r in rows]
    panel = Panel.from_rows(above, lambda r: "above")
    iv = mean_intervals(panel)[0]
    kinds = Counter(chance[r.task][0] for r in {r.task: r for r in rows}.values())
    return Check(
        "base ICL above chance",
        bool(np.isfinite(iv.low)) and iv.low > 0,
        iv.estimate,
        0.0,
        f"base ICL score minus the no-skill score (majority label: accuracy; echo or constant answer: "
        f"ROUGE-L) over {panel.n_tasks} tasks ({kinds['accuracy']} classification, {kinds['rouge_l']} "
        f"generation) {_interval(iv)} (must be above 0)",
        ICL_CLAIMS,
    )


def final_checkpoint_ids(table: ResultTable) -> list[str]:
    """The last checkpoint of every tuned (arm, seed) in the table."""
    last: dict[tuple[str, int], tuple[int, str]] = {}
    for r in table.records:
        if r.step > 0 and r.step >= last.get((r.arm, r.seed), (0, ""))[0]:
            last[(r.arm, r.seed)] = (r.step, r.checkpoint_id)
    return sorted(checkpoint for _, checkpoint in last.values())


def study_checks(
    table: ResultTable,
    facts: Mapping[str, Any],
    *,
    arms: Sequence[str],
    final_checkpoints: Sequence[str],
) -> list[Check]:
    """Every validity check of a study, in the order the report shows them.

    Args:
        table: the study's score table.
        facts: the study's recorded facts (name → JSON value).
        arms: the tuned arms, in config order.
        final_checkpoints: ids of every run's last checkpoint.
    """
    checks = fit_checks(table, arms)
    checks.append(fit_coverage_check(facts, final_checkpoints))
    checks += leakage_checks(facts)
    counts = instruction_count_check(facts)
    checks += [counts] if counts is not None else []
    checks += arm_checks(facts)
    checks += replay_share_checks(facts)
    checks.append(finetune_helps_check(table))
    checks.append(chance_check(table, facts))
    return checks
