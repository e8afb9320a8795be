"""Facts about a study measured when it is set up, before any job runs: what the validity checks read.

Each fact is computed where its data is and stored in the results store's
``facts`` table (:meth:`~instructmtl.results.store.ResultsStore.record_fact`), so
the report needs nothing but the store:

* ``leakage.split`` / ``leakage.demonstrations``: no held-out eval instance among
  the training instances (checked, and refused, by the split itself) or among the
  demonstrations an ICL prompt can show (the task's positive examples and its
  few-shot train instances);
* ``leakage.pretraining`` / ``leakage.replay.<arm>``: the corpus scans
  (:mod:`instructmtl.study.corpus_facts`);
* ``chance``: per held-out task, what a no-skill answer scores: the majority
  label's share for classification, the better of echoing the input and a constant
  answer (ROUGE-L) for generation;
* ``sampling.tv.<arm>``: total-variation distance between an arm's task-sampling
  distribution, averaged over training, and the baseline arm's;
* ``arms.differences.<arm>``: in which strategies an arm differs from the baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from instructmtl import mtl
from instructmtl.evaluation.metrics import rouge_l
from instructmtl.tasks.leakage import normalize_text
from instructmtl.tasks.schema import label_set
from instructmtl.tasks.selection import StudySplit, TaskSplit
from instructmtl.training.config import ArmConfig

#: Training progress points at which a sampler's distribution is averaged (an annealed
#: schedule changes over the run; a fixed one gives the same at every point).
PROGRESS_POINTS = np.linspace(0.0, 1.0, 11)


def demonstration_leaks(held_out: Sequence[TaskSplit]) -> list[str]:
    """Held-out eval instances whose input is also a demonstration input (positive example or few-shot instance)."""
    leaks = []
    for split in held_out:
        shown = {normalize_text(e.input) for e in split.task.positive_examples}
        shown |= {normalize_text(i.input) for i in split.train}
        leaks += [f"{split.name}/{inst.id}" for inst in split.eval if normalize_text(inst.input) in shown]
    return leaks


def split_facts(split: StudySplit) -> dict[str, object]:
    """The leakage facts of the instance split and the demonstrations."""
    leaks = demonstration_leaks(split.held_out_tasks)
    n_eval = sum(len(s.eval) for s in split.held_out_tasks)
    return {
        "leakage.split": {
            "hits": 0,
            "checked": True,
            "detail": f"{n_eval} held-out eval inputs vs every training instance: none shared "
            "(the split refuses a study otherwise)",
        },
        "leakage.demonstrations": {
            "hits": len(leaks),
            "checked": True,
            "detail": (
                f"held-out eval inputs shown as demonstrations: {', '.join(leaks[:5])}"
                if leaks
                else f"{n_eval} held-out eval inputs vs every demonstration "
                "(positive examples, few-shot instances): none shared"
            ),
        },
    }


def chance_levels(held_out: Sequence[TaskSplit]) -> dict[str, dict[str, object]]:
    """Per held-out task, what a model that does not do the task scores on its eval instances.

    Classification: the majority label's share (always answering it). Generation: the
    better ROUGE-L of echoing the input and of always giving the task's most common
    train answer; both are no-skill strategies a tiny model falls into (an echo scores
    well on sorting or formatting tasks, whose outputs reuse the input's words).

    Returns:
        task → ``{"metric", "value", "baseline"}``, in the metric the task's ICL is scored with.
    """
    levels: dict[str, dict[str, object]] = {}
    for split in held_out:
        if not split.eval:
            continue
        if label_set(split.task) is not None:
            counts = Counter(inst.outputs[0].strip() for inst in split.eval)
            levels[split.name] = {
                "metric": "accuracy",
                "value": counts.most_common(1)[0][1] / len(split.eval),
                "baseline": "majority label",
            }
            continue
        echo = float(np.mean([rouge_l(inst.input, inst.outputs) for inst in split.eval]))
        answers = Counter(inst.outputs[0] for inst in split.train) or Counter(
            e.output for e in split.task.positive_examples
        )
        constant = answers.most_common(1)[0][0] if answers else ""
        fixed = float(np.mean([rouge_l(constant, inst.outputs) for inst in split.eval]))
        best = ("echo input", echo) if echo >= fixed else ("constant answer", fixed)
        levels[split.name] = {"metric": "rouge_l", "value": best[1], "baseline": best[0]}
    return levels


def mean_sampling(arm: ArmConfig, sizes: dict[str, int]) -> np.ndarray:
    """An arm's task-sampling distribution averaged over training progress, in sorted task order."""
    sampler = mtl.build(mtl.SAMPLERS, arm.sampler.name, **arm.sampler.params)
    tasks = sorted(sizes)
    rows = [[sampler.probabilities(sizes, float(p)).get(t, 0.0) for t in tasks] for p in PROGRESS_POINTS]
    mean: np.ndarray = np.mean(np.asarray(rows), axis=0)
    return mean


def arm_differences(arm: ArmConfig, baseline: ArmConfig) -> list[str]:
    """The strategies in which ``arm`` differs from ``baseline`` (an arm should differ in one)."""
    things = []
    if arm.sampler != baseline.sampler:
        things.append("sampler")
    if arm.uses_groups and arm.groups_per_step is not None:
        things.append("groups per step (which tasks a step mixes)")
    for name in ("batching", "aggregator", "weighting", "regularizer", "replay", "lora"):
        if getattr(arm, name) != getattr(baseline, name):
            things.append(name)
    if arm.uses_groups and baseline.uses_groups and arm.groups != baseline.groups:
        things.append("groups")
    return things


def arm_facts(arms: Sequence[ArmConfig], baseline: str, sizes: dict[str, int]) -> dict[str, object]:
    """``arms.differences.<arm>`` and ``sampling.tv.<arm>`` for every arm but the baseline."""
    base_arm = next(a for a in arms if a.name == baseline)
    base_dist = mean_sampling(base_arm, sizes)
    facts: dict[str, object] = {}
    for arm in arms:
        if arm.name == baseline:
            continue
        facts[f"arms.differences.{arm.name}"] = arm_differences(arm, base_arm)
        tv = 0.5 * float(np.abs(mean_sampling(arm, sizes) - base_dist).sum())
        facts[f"sampling.tv.{arm.name}"] = {"tv": tv, "sampler_differs": arm.sampler != base_arm.sampler}
    return facts


def setup_facts(
    split: StudySplit, arms: Sequence[ArmConfig], baseline: str, encodings: Sequence[str]
) -> dict[str, object]:
    """Every setup fact that needs only the split and the config (the corpus scans are separate)."""
    sizes = {s.name: len(s.train) * len(encodings) for s in split.train_tasks}
    return {**split_facts(split), "chance": chance_levels(split.held_out_tasks), **arm_facts(arms, baseline, sizes)}
