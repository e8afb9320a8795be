"""Scoring one task's instances under one prompt encoding: the measure ICL, MTL generalization and transfer share.

Classification tasks (a closed label set) are scored by rank classification:
every label is a continuation of the prompt, all labels of an instance in one
batch, and the prediction is the label with the highest log-likelihood (the
sum, ``accuracy``; and length-normalised, ``accuracy_norm``). Generation tasks
are decoded greedily up to a bound derived from the task's outputs and scored
by ROUGE-L and exact match against every acceptable output. Both also report
the target NLL (nats per target token, pooled over instances), so ICL loss and
fine-tuning loss can be correlated on one scale.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.evaluation.generation import generate_greedy, max_new_tokens_for
from instructmtl.evaluation.loglik import score_continuations
from instructmtl.evaluation.metrics import METRICS
from instructmtl.prompts import TARGET_SEPARATOR, Prompt, cut_generation
from instructmtl.tasks.schema import Instance, Task, label_set


@dataclass(frozen=True)
class Prediction:
    """One instance's prediction, kept for inspection."""

    instance_id: str
    prediction: str
    references: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class InstanceScore:
    """One instance's metric values and its summed target NLL, from which any subset's task score follows.

    Attributes:
        instance_id: the instance.
        metrics: metric name → this instance's value (``target_nll`` excluded: NLL pools by tokens).
        nll: summed target NLL in nats (0 when the gold label is outside the label set).
        n_tokens: target tokens behind ``nll`` (0 when there is no target likelihood).
    """

    instance_id: str
    metrics: dict[str, float]
    nll: float
    n_tokens: int


#: Names of the two disjoint halves of a task's eval instances (see :func:`eval_halves`).
HALVES: tuple[str, str] = ("a", "b")


def eval_halves(instance_ids: Sequence[str]) -> dict[str, str]:
    """Splits a task's eval instances into two halves of equal size (``a`` and ``b``).

    Why: claim 2 correlates fine-tuning and ICL per task; scoring them on the same
    instances would correlate their instance noise too. Each side is scored on its own
    half, and the two halves of one side give its split-half reliability. The split is
    by a hash of the instance id (sorted, then cut in the middle), so it is the same for
    every model and every stage, and balanced whatever the ids look like.
    """
    ranked = sorted(instance_ids, key=lambda i: hashlib.sha256(f"instructmtl.half:{i}".encode()).digest())
    middle = (len(ranked) + 1) // 2
    return {i: HALVES[0] if rank < middle else HALVES[1] for rank, i in enumerate(ranked)}


def aggregate_instances(instances: Sequence[InstanceScore]) -> dict[str, float]:
    """Task-level metrics of ``instances``: metric means, and target NLL pooled over tokens."""
    if not instances:
        return {}
    names = sorted(set.intersection(*(set(i.metrics) for i in instances)))
    metrics = {name: statistics.fmean(i.metrics[name] for i in instances) for name in names}
    tokens = sum(i.n_tokens for i in instances)
    if tokens:  # no instance has a target likelihood (gold labels outside the set): no NLL to report
        metrics["target_nll"] = sum(i.nll for i in instances) / tokens
    return metrics


@dataclass(frozen=True)
class TaskScore:
    """A task's scores under one encoding.

    Attributes:
        metrics: metric name → task-level value (``target_nll`` included).
        predictions: per instance.
        n_instances: instances scored.
        instances: per-instance values, for scores on a subset (:meth:`subset_metrics`).
    """

    metrics: dict[str, float]
    predictions: tuple[Prediction, ...]
    n_instances: int
    instances: tuple[InstanceScore, ...] = ()

    def subset_metrics(self, ids: Collection[str]) -> tuple[dict[str, float], int]:
        """Task-level metrics over the instances whose ids are in ``ids``, and how many there are."""
        chosen = [i for i in self.instances if i.instance_id in ids]
        return aggregate_instances(chosen), len(chosen)

    def halves(self) -> dict[str, tuple[dict[str, float], int]]:
        """Metrics on each half of :func:`eval_halves` (``{"a": (metrics, n), "b": ...}``)."""
        half_of = eval_halves([i.instance_id for i in self.instances])
        return {h: self.subset_metrics({i for i, side in half_of.items() if side == h}) for h in HALVES}


def score_prompts(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    task: Task,
    instances: Sequence[Instance],
    prompts: Sequence[Prompt],
    batch_size: int,
) -> TaskScore:
    """Scores ``instances`` of ``task`` given their (fitted) prompts, which share one prefix.

    Raises:
        ValueError: when prompts and instances do not line up or prefixes differ.
    """
    if len(prompts) != len(instances) or len({p.prefix for p in prompts}) > 1:
        raise ValueError(f"task '{task.name}': need one prompt per instance, all with one shared prefix")
    labels = label_set(task)
    if labels is not None:
        return _rank_classification(model, tokenizer, labels, instances, prompts, batch_size)
    return _generation(model, tokenizer, task, instances, prompts, batch_size)


def _rank_classification(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    labels: Sequence[str],
    instances: Sequence[Instance],
    prompts: Sequence[Prompt],
    batch_size: int,
) -> TaskScore:
    prefix = prompts[0].prefix
    choices = [TARGET_SEPARATOR + label for label in labels]
    scored = score_continuations(model, tokenizer, prefix, [(p.query, choices) for p in prompts], batch_size)
    predictions, per_instance = [], []
    for inst, scores in zip(instances, scored, strict=True):
        best = max(range(len(labels)), key=lambda i: scores[i].sum_logprob)
        best_norm = max(range(len(labels)), key=lambda i: scores[i].mean_logprob)
        references = tuple(o.strip() for o in inst.outputs)
        hit = float(labels[best] in references)
        gold = labels.index(references[0]) if references[0] in labels else None
        # a gold label outside the set has no likelihood among the choices
        nll, n_tokens = (0.0, 0) if gold is None else (-scores[gold].sum_logprob, scores[gold].n_tokens)
        metrics = {"accuracy": hit, "accuracy_norm": float(labels[best_norm] in references)}
        per_instance.append(InstanceScore(inst.id, metrics, nll, n_tokens))
        predictions.append(Prediction(inst.id, labels[best], references, hit))
    return TaskScore(aggregate_instances(per_instance), tuple(predictions), len(instances), tuple(per_instance))


def _generation(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    task: Task,
    instances: Sequence[Instance],
    prompts: Sequence[Prompt],
    batch_size: int,
) -> TaskScore:
    prefix = prompts[0].prefix
    bound = max_new_tokens_for(tokenizer, [TARGET_SEPARATOR + o for i in task.instances for o in i.outputs])
    texts = generate_greedy(model, tokenizer, prefix, [p.query for p in prompts], bound, batch_size=batch_size)
    rouge, exact = METRICS.get("rouge_l"), METRICS.get("exact_match")
    likelihoods = score_continuations(model, tokenizer, prefix, [(p.query, [p.target]) for p in prompts], batch_size)
    predictions, per_instance = [], []
    for inst, text, (target,) in zip(instances, texts, likelihoods, strict=True):
        prediction = cut_generation(text)
        references = tuple(inst.outputs)
        metrics = {"rouge_l": rouge(prediction, references), "exact_match": exact(prediction, references)}
        per_instance.append(InstanceScore(inst.id, metrics, -target.sum_logprob, target.n_tokens))
        predictions.append(Prediction(inst.id, prediction, references, metrics["rouge_l"]))
    return TaskScore(aggregate_instances(per_instance), tuple(predictions), len(instances), tuple(per_instance))
