"""In-context learning and MTL-generalization evaluation of one model: ``instructmtl icl``.

ICL: each held-out task's eval instances under every configured encoding
(``def``, ``def+pos-2``, ``pos-4``...), no weight update. Demonstrations beyond
a task's positive examples come from its *train* instances, never its eval ones.

MTL generalization uses the same scorer on the *train tasks*: ``mtl_gen`` on
their eval instances (unseen instances of seen tasks) and ``mtl_fit`` (target
NLL only) on a sample of the instances they were trained on, so arms can be
ranked by how well they fit and how well they generalize the multi-task objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.evaluation.task_scoring import Prediction, score_prompts
from instructmtl.evaluation.loglik import target_nll
from instructmtl.prompts import TaskPrompter, fit_to_context, parse_encoding
from instructmtl.tasks.selection import TaskSplit


@dataclass(frozen=True)
class ScoreRecord:
    """One measured value: what the results store keeps as a row."""

    task: str
    task_role: str  # "held_out" | "train"
    measure: str  # "icl" | "mtl_gen" | "mtl_fit"
    encoding: str
    k: int
    metric: str
    value: float
    n_instances: int


@dataclass(frozen=True)
class EvalOutput:
    """Scores plus the per-instance predictions behind them, keyed by (task, encoding)."""

    records: tuple[ScoreRecord, ...]
    predictions: dict[tuple[str, str], tuple[Prediction, ...]]
    prompts_fitted: int


def evaluate_tasks(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[TaskSplit],
    encodings: Sequence[str],
    *,
    measure: str,
    role: str,
    seed: int,
    max_length: int,
    batch_size: int = 16,
) -> EvalOutput:
    """Scores every task's eval instances under every encoding.

    Args:
        tasks: tasks with their instance split (eval instances are scored; train
            instances are the demonstration pool).
        encodings: prompt encoding names.
        measure: ``"icl"`` for held-out tasks, ``"mtl_gen"`` for train tasks.
        role: ``"held_out"`` or ``"train"``.
        seed: selects demonstrations (fixed per task and seed for every model).
        max_length: context budget; demonstrations are dropped first, then inputs trimmed.
        batch_size: sequences per forward pass.
    """
    records: list[ScoreRecord] = []
    predictions: dict[tuple[str, str], tuple[Prediction, ...]] = {}
    fitted_total = 0
    for name in encodings:
        spec = parse_encoding(name)
        for split in tasks:
            prompter = TaskPrompter(split.task, spec, seed, demo_pool=split.train)
            prompts, report = fit_to_context(prompter.encode_all(split.eval), tokenizer, max_length)
            fitted_total += report.prompts_changed
            result = score_prompts(model, tokenizer, split.task, split.eval, prompts, batch_size)
            predictions[(split.name, spec.name)] = result.predictions
            for metric, value in sorted(result.metrics.items()):
                records.append(ScoreRecord(split.name, role, measure, spec.name, spec.k, metric, value, result.n_instances))
    return EvalOutput(tuple(records), predictions, fitted_total)


def evaluate_fit(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[TaskSplit],
    encoding: str,
    *,
    seed: int,
    max_length: int,
    max_instances: int,
    batch_size: int = 16,
) -> tuple[ScoreRecord, ...]:
    """MTL fit: target NLL on (the first ``max_instances``) train instances the tasks were tuned on."""
    spec = parse_encoding(encoding)
    records = []
    for split in tasks:
        seen = split.train[:max_instances]
        prompts, _ = fit_to_context(TaskPrompter(split.task, spec, seed).encode_all(seen), tokenizer, max_length)
        nll = target_nll(model, tokenizer, prompts[0].prefix, [(p.query, p.target) for p in prompts], batch_size)
        records.append(ScoreRecord(split.name, "train", "mtl_fit", spec.name, spec.k, "target_nll", nll, len(seen)))
    return tuple(records)
