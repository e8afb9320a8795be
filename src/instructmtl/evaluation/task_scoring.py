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

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.evaluation.generation import generate_greedy, max_new_tokens_for
from instructmtl.evaluation.loglik import score_continuations, target_nll
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
class TaskScore:
    """A task's scores under one encoding.

    Attributes:
        metrics: metric name → task-level value (``target_nll`` included).
        predictions: per instance.
        n_instances: instances scored.
    """

    metrics: dict[str, float]
    predictions: tuple[Prediction, ...]
    n_instances: int


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


def _rank_classification(model, tokenizer, labels, instances, prompts, batch_size) -> TaskScore:
    prefix = prompts[0].prefix
    choices = [TARGET_SEPARATOR + label for label in labels]
    scored = score_continuations(model, tokenizer, prefix, [(p.query, choices) for p in prompts], batch_size)
    predictions, correct, correct_norm, nll, n_tokens = [], 0, 0, 0.0, 0
    for inst, scores in zip(instances, scored, strict=True):
        best = max(range(len(labels)), key=lambda i: scores[i].sum_logprob)
        best_norm = max(range(len(labels)), key=lambda i: scores[i].mean_logprob)
        references = tuple(o.strip() for o in inst.outputs)
        hit = float(labels[best] in references)
        correct += hit
        correct_norm += labels[best_norm] in references
        gold = labels.index(references[0]) if references[0] in labels else None
        if gold is not None:  # a gold label outside the set has no likelihood among the choices
            nll -= scores[gold].sum_logprob
            n_tokens += scores[gold].n_tokens
        predictions.append(Prediction(inst.id, labels[best], references, hit))
    n = len(instances)
    metrics = {"accuracy": correct / n, "accuracy_norm": correct_norm / n}
    if n_tokens:  # no instance's gold label is in the set: there is no target likelihood to report
        metrics["target_nll"] = nll / n_tokens
    return TaskScore(metrics, tuple(predictions), n)


def _generation(model, tokenizer, task, instances, prompts, batch_size) -> TaskScore:
    prefix = prompts[0].prefix
    bound = max_new_tokens_for(tokenizer, [TARGET_SEPARATOR + o for i in task.instances for o in i.outputs])
    texts = generate_greedy(model, tokenizer, prefix, [p.query for p in prompts], bound, batch_size=batch_size)
    rouge, exact = METRICS.get("rouge_l"), METRICS.get("exact_match")
    predictions, rouge_scores, exact_scores = [], [], []
    for inst, text in zip(instances, texts, strict=True):
        prediction = cut_generation(text)
        references = tuple(inst.outputs)
        rouge_scores.append(rouge(prediction, references))
        exact_scores.append(exact(prediction, references))
        predictions.append(Prediction(inst.id, prediction, references, rouge_scores[-1]))
    nll = target_nll(model, tokenizer, prefix, [(p.query, p.target) for p in prompts], batch_size)
    metrics = {"rouge_l": rouge.aggregate(rouge_scores), "exact_match": exact.aggregate(exact_scores), "target_nll": nll}
    return TaskScore(metrics, tuple(predictions), len(instances))
