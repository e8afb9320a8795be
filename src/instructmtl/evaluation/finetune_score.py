"""Scoring one model on one held-out task's eval instances, through the shared scorers.

Classification tasks (a closed label set, :func:`~instructmtl.tasks.schema.label_set`)
are scored by rank classification: the label whose completion (``" label\\n"``,
the exact text training teaches after ``Output:``) has the highest total
log-probability is the prediction, scored by ``accuracy``. Including the end
marker makes the comparison one between complete answers, so a label that is
a prefix of another (``"no"``/``"not sure"``) is not favoured for being short.
Generation tasks are decoded greedily up to the end of the line and scored by
``rouge_l`` and ``exact_match``. Every task also gets ``target_nll``: the mean
negative log-probability per token of its targets (the answer, without the
end marker), pooled over instances as :func:`~instructmtl.evaluation.loglik.target_nll` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.evaluation.finetune_data import FewShotTask
from instructmtl.evaluation.generation import generate_greedy
from instructmtl.evaluation.loglik import score_continuations, target_nll
from instructmtl.evaluation.metrics import METRICS
from instructmtl.prompts import END_OF_TARGET, TARGET_SEPARATOR

__all__ = ["InstancePrediction", "TaskScores", "score_task"]

GENERATION_METRICS = ("rouge_l", "exact_match")
CLASSIFICATION_METRICS = ("accuracy",)


@dataclass(frozen=True)
class InstancePrediction:
    """What a model answered on one eval instance.

    Attributes:
        instance_id: the instance's id in its task.
        prediction: the generated text, or the chosen label.
        references: the acceptable outputs.
        score: the instance's score under the task's primary metric
            (``accuracy`` or ``rouge_l``).
    """

    instance_id: str
    prediction: str
    references: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class TaskScores:
    """A model's scores on one task.

    Attributes:
        metrics: metric name → task-level value (including ``target_nll``).
        n_instances: eval instances scored.
        predictions: per eval instance, in eval order.
    """

    metrics: dict[str, float]
    n_instances: int
    predictions: tuple[InstancePrediction, ...]


def _classify(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, task: FewShotTask, batch: int) -> list[str]:
    assert task.labels is not None
    options = [TARGET_SEPARATOR + label + END_OF_TARGET for label in task.labels]
    items = [(prompt.query, options) for prompt in task.eval_prompts]
    scores = score_continuations(model, tokenizer, task.prefix, items, batch)
    # max() keeps the first of equal scores: ties go to the label first in sorted order
    return [task.labels[max(range(len(row)), key=lambda i: row[i].sum_logprob)] for row in scores]


def score_task(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, task: FewShotTask, batch_size: int
) -> TaskScores:
    """Scores ``model`` (in eval mode) on ``task``'s eval instances.

    Args:
        model: the model to score.
        tokenizer: its tokenizer.
        task: the task's prompts, references and label set.
        batch_size: rows per forward.

    Returns:
        ``accuracy`` (classification) or ``rouge_l`` and ``exact_match``
        (generation), plus ``target_nll``, and the per-instance predictions.
    """
    if task.labels is not None:
        predictions = _classify(model, tokenizer, task, batch_size)
        names = CLASSIFICATION_METRICS
    else:
        queries = [prompt.query for prompt in task.eval_prompts]
        predictions = generate_greedy(
            model, tokenizer, task.prefix, queries, task.max_new_tokens, stop_at_newline=True, batch_size=batch_size
        )
        names = GENERATION_METRICS
    per_metric = {
        name: [METRICS.get(name)(pred, refs) for pred, refs in zip(predictions, task.references, strict=True)]
        for name in names
    }
    metrics = {name: METRICS.get(name).aggregate(values) for name, values in per_metric.items()}
    pairs = [(prompt.query, prompt.target) for prompt in task.eval_prompts]
    metrics["target_nll"] = target_nll(model, tokenizer, task.prefix, pairs, batch_size)
    primary = per_metric[names[0]]
    instances = tuple(
        InstancePrediction(prompt.instance_id, pred, refs, score)
        for prompt, pred, refs, score in zip(task.eval_prompts, predictions, task.references, primary, strict=True)
    )
    return TaskScores(metrics=metrics, n_instances=len(predictions), predictions=instances)
