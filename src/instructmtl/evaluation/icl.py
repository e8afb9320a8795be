"""In-context learning and MTL-generalization evaluation of one model: ``instructmtl icl``.

ICL: each held-out task's eval instances under every configured encoding
(``def``, ``def+pos-2``, ``pos-4``...), no weight update. Demonstrations beyond
a task's positive examples come from its *train* instances, never its eval ones.

MTL generalization uses the same scorer on the *train tasks*: ``mtl_gen`` on
their eval instances (unseen instances of seen tasks) and ``mtl_fit`` (target
NLL only) on instances the checkpoint was actually trained on (the caller
passes their ids, from the checkpoint's record of what it drew), so arms can be
ranked by how well they fit and how well they generalize the multi-task objective.
Every NLL here is over the target's content tokens, the token set of the
training log's ``content_loss``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation.loglik import target_nll
from instructmtl.evaluation.task_scoring import Prediction, score_prompts
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
    subset: str = ""  # "" all eval instances; "a" / "b" one half (see task_scoring.eval_halves)


@dataclass(frozen=True)
class EvalOutput:
    """Scores plus the per-instance predictions behind them, keyed by (task, encoding)."""

    records: tuple[ScoreRecord, ...]
    predictions: dict[tuple[str, str], tuple[Prediction, ...]]
    prompts_fitted: int


def evaluate_tasks(  # noqa: PLR0913  keyword-only scoring settings, each named at every call
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
    halves: bool = False,
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
        halves: also record each task's scores on the two halves of its eval instances
            (subsets ``a`` and ``b``), from the same predictions.
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
            subsets = {"": (result.metrics, result.n_instances), **(result.halves() if halves else {})}
            for subset, (metrics, n) in subsets.items():
                for metric, value in sorted(metrics.items()):
                    records.append(ScoreRecord(split.name, role, measure, spec.name, spec.k, metric, value, n, subset))
    return EvalOutput(tuple(records), predictions, fitted_total)


def evaluate_fit(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[TaskSplit],
    encoding: str,
    *,
    instances: Mapping[str, Sequence[str]],
    seed: int,
    max_length: int,
    batch_size: int = 16,
) -> tuple[ScoreRecord, ...]:
    """MTL fit: content-token NLL on the train instances named in ``instances``.

    Args:
        tasks: the seen tasks with their instance split.
        encoding: the prompt encoding.
        instances: task → ids of its train instances to score (those the checkpoint was
            trained on); a task without any is left out.
        seed: selects demonstrations, as in training.
        max_length: context budget.
        batch_size: sequences per forward pass.

    Raises:
        InstructMTLError: an id is not one of the task's train instances (fit must never
            be measured on an instance outside the training set).
    """
    spec = parse_encoding(encoding)
    records = []
    for split in tasks:
        wanted = list(instances.get(split.name, ()))
        if not wanted:
            continue
        by_id = {inst.id: inst for inst in split.train}
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise InstructMTLError(
                f"task '{split.name}': MTL fit asked for {unknown[0]!r}, which is not one of its train instances; "
                "fit is measured only on instances the run trained on"
            )
        seen = [by_id[i] for i in wanted]
        prompts, _ = fit_to_context(TaskPrompter(split.task, spec, seed).encode_all(seen), tokenizer, max_length)
        nll = target_nll(model, tokenizer, prompts[0].prefix, [(p.query, p.target) for p in prompts], batch_size)
        records.append(ScoreRecord(split.name, "train", "mtl_fit", spec.name, spec.k, "target_nll", nll, len(seen)))
    return tuple(records)


def stratified_tasks(tasks: Sequence[TaskSplit], n: int | None) -> list[TaskSplit]:
    """``n`` of ``tasks`` taken round-robin over their categories (all of them when ``n`` is None).

    Why: MTL fit and generalization summarise the whole multi-task objective; the first
    ``n`` tasks of a suite can come from one or two categories. Categories are visited in
    sorted order and each gives its tasks in their given order, so the choice is fixed.
    """
    if n is None or n >= len(tasks):
        return list(tasks)
    by_category: dict[str, list[TaskSplit]] = {}
    for split in tasks:
        by_category.setdefault(split.task.category, []).append(split)
    queues = [by_category[c] for c in sorted(by_category)]
    chosen: list[TaskSplit] = []
    depth = 0
    while len(chosen) < n:
        chosen.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return chosen[:n]
