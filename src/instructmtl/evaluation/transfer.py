"""Parameter transfer: fine-tune every checkpoint on every held-out task with few examples, and score it.

DESIGN.md claim 1: ``transfer(c, t, n) = score(fine-tune(c, t, n)) -
score(fine-tune(base, t, n))``. :func:`run_transfer` produces the
``score(fine-tune(c, t, n))`` rows for every checkpoint (the base is one of
them), task, ``n`` and seed; :func:`transfer_deltas` takes the differences.
``n = 0`` scores the checkpoint itself.

Every fine-tune of a task shares its data (:mod:`.finetune_data`): same
instances, same order, same steps and hyperparameters, whatever the
checkpoint. Full fine-tunes run batched (:mod:`.grid`), LoRA fine-tunes one
by one (:mod:`.finetune_single`); ``batched=False`` runs full fine-tunes one
by one too, the reference the grid is tested against.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.finetune_data import FewShotTask, build_few_shot_task
from instructmtl.evaluation.finetune_single import finetune_one
from instructmtl.evaluation.grid import (
    Member,
    concurrent_chunks,
    load_member,
    plan_chunks,
    train_chunk,
)
from instructmtl.evaluation.parallel import PerThread, resolve_workers, run_all
from instructmtl.evaluation.task_scoring import TaskScore, score_prompts
from instructmtl.tasks.selection import TaskSplit

__all__ = [
    "FinetunePrediction",
    "FinetuneScore",
    "SkippedFinetune",
    "TransferDelta",
    "TransferResult",
    "prepare_tasks",
    "run_transfer",
    "transfer_deltas",
]

Progress = Callable[[str], None]
# every score metric (accuracy, accuracy_norm, rouge_l, exact_match) is higher-better; the loss is not
TARGET_NLL = "target_nll"


@dataclass(frozen=True)
class FinetuneScore:
    """One task-level score of one fine-tune (a study stores it as measure ``finetune``, ``k = n``)."""

    checkpoint: str
    task: str
    encoding: str
    n: int
    seed: int
    metric: str
    value: float
    n_instances: int
    subset: str = ""  # "" all eval instances; "a" / "b" one half (see task_scoring.eval_halves)


@dataclass(frozen=True)
class FinetunePrediction:
    """One eval instance's answer after one fine-tune (``score``: the task's primary metric)."""

    checkpoint: str
    task: str
    encoding: str
    n: int
    seed: int
    instance_id: str
    prediction: str
    references: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class SkippedFinetune:
    """A (task, n) with no result: the task has fewer train instances than ``n``."""

    task: str
    n: int
    available: int


@dataclass(frozen=True)
class TransferResult:
    """Everything a transfer run measured.

    Attributes:
        scores: task-level scores, ordered by checkpoint (as given), task, n, seed, metric.
        predictions: per-instance answers, same order.
        skipped: the (task, n) pairs a task was too small for.
        losses: per fine-tune, its training-loss curve.
    """

    scores: tuple[FinetuneScore, ...]
    predictions: tuple[FinetunePrediction, ...]
    skipped: tuple[SkippedFinetune, ...]
    losses: Mapping[Member, tuple[float, ...]]

    def value(
        self, checkpoint: str, task: str, n: int, metric: str, seed: int | None = None, subset: str = ""
    ) -> float:
        """The score of one fine-tune (``seed`` may be left out when there is one) on all eval instances,
        or on one half of them (``subset`` ``"a"`` / ``"b"``).

        Raises:
            KeyError: no such score, or several seeds and none given.
        """
        found = [
            s.value
            for s in self.scores
            if (s.checkpoint, s.task, s.n, s.metric, s.subset) == (checkpoint, task, n, metric, subset)
            and seed in (None, s.seed)
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} scores for {(checkpoint, task, n, metric, seed)}")
        return found[0]


@dataclass(frozen=True)
class TransferDelta:
    """``score(fine-tune(c, t, n)) - score(fine-tune(base, t, n))`` for one metric and seed.

    Attributes:
        higher_is_better: the metric's direction; for ``target_nll`` a positive delta
            means the checkpoint is a *worse* start than the base.
    """

    checkpoint: str
    base: str
    task: str
    encoding: str
    n: int
    seed: int
    metric: str
    value: float
    higher_is_better: bool


def prepare_tasks(
    held_out: Sequence[TaskSplit], tokenizer: PreTrainedTokenizerBase, config: FinetuneConfig, max_length: int
) -> dict[tuple[str, int], FewShotTask]:
    """Every held-out task's few-shot data, per seed (the seed picks ``pos-k`` demonstrations)."""
    return {
        (split.name, seed): build_few_shot_task(split, config.encoding, seed, max(config.n), tokenizer, max_length)
        for split in held_out
        for seed in config.seeds
    }


def _members(
    checkpoints: Sequence[str], tasks: Mapping[tuple[str, int], FewShotTask], config: FinetuneConfig
) -> tuple[list[Member], list[SkippedFinetune]]:
    members: list[Member] = []
    skipped: list[SkippedFinetune] = []
    for (name, seed), task in tasks.items():
        for n in config.n:
            if n > task.available:
                if seed == config.seeds[0]:
                    skipped.append(SkippedFinetune(name, n, task.available))
            elif n > 0:
                members.extend(Member(name, seed, n, checkpoint) for checkpoint in checkpoints)
    return members, skipped


@dataclass(frozen=True)
class _Scored:
    """One scored model: a checkpoint itself (``n = 0``) or a fine-tune with its loss curve."""

    checkpoint: str
    task: FewShotTask
    n: int
    scores: TaskScore
    losses: tuple[float, ...] = ()

    @property
    def member(self) -> Member:
        return Member(self.task.name, self.task.seed, self.n, self.checkpoint)

    def rows(self) -> tuple[list[FinetuneScore], list[FinetunePrediction]]:
        key = (self.checkpoint, self.task.name, self.task.encoding, self.n, self.task.seed)
        subsets = {"": (self.scores.metrics, self.scores.n_instances), **self.scores.halves()}
        rows = [
            FinetuneScore(*key, metric, value, n, subset)
            for subset, (metrics, n) in subsets.items()
            for metric, value in metrics.items()
        ]
        preds = [
            FinetunePrediction(*key, p.instance_id, p.prediction, p.references, p.score)
            for p in self.scores.predictions
        ]
        return rows, preds


Score = Callable[[Member, PreTrainedModel, tuple[float, ...]], _Scored]


def _fine_tune_items(
    models: Mapping[str, PreTrainedModel],
    members: Sequence[Member],
    tasks: Mapping[tuple[str, int], FewShotTask],
    config: FinetuneConfig,
    pad_id: int,
    batched: bool,
    score: Score,
    workers: int,
) -> tuple[list[tuple[Callable[[], list[_Scored]], float]], int]:
    """Independent work items with a relative cost (each grid chunk trained and its members scored, or
    one fine-tune and its score), and how many of them may run at once within the grid's memory budget."""
    if batched and config.mode == "full" and members:
        first = models[members[0].checkpoint]

        def chunk_item(chunk: tuple[Member, ...]) -> list[_Scored]:
            trained = train_chunk(models, chunk, tasks, config, pad_id)
            scorer = copy.deepcopy(first).eval()
            return [
                score(m, load_member(scorer, trained, index), tuple(trained.losses[:, index].tolist()))
                for index, m in enumerate(chunk)
            ]

        chunks = plan_chunks(members, tasks, first, config, share=workers)
        items: list[tuple[Callable[[], list[_Scored]], float]] = [
            (partial(chunk_item, chunk.members), float(chunk.tokens)) for chunk in chunks
        ]
        return items, concurrent_chunks(chunks, config, workers)

    def one_item(m: Member) -> list[_Scored]:
        tuned = finetune_one(models[m.checkpoint], tasks[(m.task, m.seed)], m.n, m.seed, config, pad_id)
        return [score(m, tuned.model, tuned.losses)]

    return [(partial(one_item, m), float(config.rows(m.n))) for m in members], workers


def run_transfer(
    models: Mapping[str, PreTrainedModel],
    tokenizer: PreTrainedTokenizerBase,
    held_out: Sequence[TaskSplit],
    config: FinetuneConfig,
    batched: bool = True,
    progress: Progress | None = None,
) -> TransferResult:
    """Fine-tunes every checkpoint on every held-out task for every ``n`` and seed, and scores each.

    The work is cut into independent items (each checkpoint's ``n = 0``
    scoring per task, each grid chunk with its members' scoring, or each
    one-by-one fine-tune) that run ``config.workers`` at a time (:mod:`.parallel`).

    Args:
        models: checkpoint name → model in eval mode, all of one architecture and
            sharing ``tokenizer`` (left untouched).
        tokenizer: the models' tokenizer (with a pad token).
        held_out: the held-out tasks with their train/eval instances.
        config: the fine-tuning setup.
        batched: train full fine-tunes together (:mod:`.grid`); ``False`` runs them one by one.
        progress: called with a short line after each scored model (from the worker threads).

    Returns:
        Scores, predictions, skipped (task, n) pairs and loss curves.

    Raises:
        ConfigError / PromptTooLongError: from preparing the tasks.
        TrainingDivergedError: a fine-tune's loss became NaN or infinite.
    """
    first = next(iter(models.values()))
    max_length = min(config.max_length, first.config.max_position_embeddings)
    tasks = prepare_tasks(held_out, tokenizer, config, max_length)
    members, skipped = _members(list(models), tasks, config)

    tokenizers = PerThread(tokenizer)

    def score(member: Member, model: PreTrainedModel, losses: tuple[float, ...] = ()) -> _Scored:
        task = tasks[(member.task, member.seed)]
        scored = score_prompts(
            model, tokenizers.get(), task.task, task.eval_instances, task.eval_prompts, config.eval_batch_size
        )
        if progress is not None:
            summary = ", ".join(f"{metric} {value:.3f}" for metric, value in scored.metrics.items())
            progress(f"{member.checkpoint} | {task.name} | n={member.n} seed={task.seed}: {summary}")
        return _Scored(member.checkpoint, task, member.n, scored, losses)

    def untuned(checkpoint: str, task: FewShotTask) -> list[_Scored]:
        return [score(Member(task.name, task.seed, 0, checkpoint), models[checkpoint])]

    # scoring a checkpoint as it is costs least: those items fill the gaps at the end
    work: list[tuple[Callable[[], list[_Scored]], float]] = (
        [(partial(untuned, c, t), 0.0) for c in models for t in tasks.values()] if 0 in config.n else []
    )
    fine_tunes, workers = _fine_tune_items(
        models,
        members,
        tasks,
        config,
        tokenizer.pad_token_id,
        batched,
        score,
        resolve_workers(config.workers, first.device),
    )
    work += fine_tunes
    done = run_all([item for item, _ in work], workers, [c for _, c in work])
    outcomes = [s for scored in done for s in scored]
    scores, predictions = [], []
    for outcome in outcomes:
        rows, preds = outcome.rows()
        scores.extend(rows)
        predictions.extend(preds)
    order = {name: i for i, name in enumerate(models)}
    task_order = {split.name: i for i, split in enumerate(held_out)}

    def key(row: FinetuneScore | FinetunePrediction) -> tuple[int, int, int, int]:
        return order[row.checkpoint], task_order[row.task], row.n, row.seed

    return TransferResult(
        scores=tuple(sorted(scores, key=lambda r: (*key(r), r.metric))),
        predictions=tuple(sorted(predictions, key=key)),
        skipped=tuple(skipped),
        losses={o.member: o.losses for o in outcomes if o.n > 0},
    )


def transfer_deltas(scores: Sequence[FinetuneScore], base: str) -> list[TransferDelta]:
    """``score(c) - score(base)`` for every non-base score with a base counterpart (same task, n, seed, metric).

    Raises:
        KeyError: ``base`` has no scores.
    """
    scores = [s for s in scores if s.subset == ""]  # whole eval sets; halves are for the study's claim 2
    reference = {(s.task, s.encoding, s.n, s.seed, s.metric): s.value for s in scores if s.checkpoint == base}
    if not reference:
        raise KeyError(f"no scores of the base checkpoint '{base}'")
    deltas = []
    for s in scores:
        key = (s.task, s.encoding, s.n, s.seed, s.metric)
        if s.checkpoint != base and key in reference:
            deltas.append(
                TransferDelta(
                    s.checkpoint,
                    base,
                    s.task,
                    s.encoding,
                    s.n,
                    s.seed,
                    s.metric,
                    s.value - reference[key],
                    s.metric != TARGET_NLL,
                )
            )
    return deltas
