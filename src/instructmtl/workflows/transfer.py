"""Few-shot fine-tune models on the held-out tasks: a study's ``transfer`` job and ``instructmtl transfer``.

:func:`main`, the study's job: setup: load the model (the base or a tuning
checkpoint) → run: the fine-tuning grid over held-out tasks × n × the job's
seeds, once per encoding (the main one, then ``also_encodings``) → save:
nothing here; the result goes back to the caller, which stores it → cleanup:
none (the model goes with the call).

:func:`compare`, the command: setup: the task split, the held-out tasks asked
for, every checkpoint (one tokenizer) → run: the grid over checkpoints × tasks
× n × seeds, and ``score(c) - score(base)`` when a base is given → save: the
per-instance predictions (JSONL) when asked for. Printing is the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.config import validate
from instructmtl.config.tasks import TasksConfig, build_study_split
from instructmtl.errors import ConfigError
from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.transfer import (
    FinetunePrediction,
    Progress,
    TransferDelta,
    TransferResult,
    run_transfer,
    transfer_deltas,
)
from instructmtl.models import ModelSpec, load_model
from instructmtl.tasks.selection import StudySplit, TaskSplit

__all__ = [
    "FinetunePrediction",
    "TransferCell",
    "TransferConfig",
    "TransferJobResult",
    "TransferOutcome",
    "compare",
    "main",
]


@dataclass(frozen=True)
class TransferCell:
    """One stored fine-tuned score: the mean over the job's repeats of one (task, encoding, n, metric, subset)."""

    task: str
    encoding: str
    n: int
    metric: str
    value: float
    n_instances: int
    subset: str


@dataclass(frozen=True)
class TransferJobResult:
    """What one transfer job measured.

    Attributes:
        cells: the fine-tuned scores, one per task, encoding, n, metric and subset.
        predictions: per-instance answers of the first seed's fine-tunes.
    """

    cells: list[TransferCell]
    predictions: list[FinetunePrediction]


def main(
    config: FinetuneConfig, model: ModelSpec, checkpoint_id: str, held_out: Sequence[TaskSplit], seed: int
) -> TransferJobResult:
    """Fine-tunes one model on every held-out task for every n, encoding and repeat of ``seed``.

    Args:
        config: how each fine-tune runs and is scored.
        model: the model to load (the base, or a checkpoint directory).
        checkpoint_id: the model's name in the scores.
        held_out: the held-out tasks.
        seed: the study seed (its repeats' seeds come from :meth:`FinetuneConfig.study_seeds`).
    """
    loaded = load_model(model)
    seeds = config.study_seeds(seed)
    cells: list[TransferCell] = []
    predictions: list[FinetunePrediction] = []
    for encoding in (config.encoding, *config.also_encodings):
        run = config.model_copy(update={"seeds": seeds, "encoding": encoding})
        result = run_transfer({checkpoint_id: loaded.model}, loaded.tokenizer, held_out, run)
        # a cell is the mean of its repeats (one row per task, encoding, n, metric and subset)
        repeats: dict[tuple[str, str, int, str, str], list[tuple[float, int]]] = {}
        for s in result.scores:
            repeats.setdefault((s.task, s.encoding, s.n, s.metric, s.subset), []).append((s.value, s.n_instances))
        cells += [
            TransferCell(task, enc, n, metric, sum(v for v, _ in values) / len(values), values[0][1], subset)
            for (task, enc, n, metric, subset), values in repeats.items()
        ]
        predictions += [p for p in result.predictions if p.seed == seeds[0]]
    return TransferJobResult(cells, predictions)


class TransferConfig(BaseModel):
    """The ``instructmtl transfer`` command's config: several models compared on the held-out tasks.

    Attributes:
        checkpoints: model directories to fine-tune (checkpoints of one base model).
        base: the base model directory: fine-tuned too, and each checkpoint's
            ``score - score(base)`` is returned beside the scores.
        tasks: where the tasks come from and which split is held out.
        only_tasks: fine-tune on these held-out tasks only (empty: every held-out task).
        finetune: how each model is fine-tuned on each task and scored.
        batched: full fine-tunes run batched in the grid (``False``: one at a time, the reference).
        device: ``cpu``, ``cuda`` or ``auto``.
        predictions: write the per-instance predictions here (JSONL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    checkpoints: tuple[str, ...] = Field(min_length=1)
    base: str | None = None
    tasks: TasksConfig = TasksConfig()
    only_tasks: tuple[str, ...] = ()
    finetune: FinetuneConfig = FinetuneConfig()
    batched: bool = True
    device: str = "auto"
    predictions: Path | None = None

    def model_paths(self) -> list[str]:
        """The base (when given) first, then the checkpoints, in the order given."""
        return ([self.base] if self.base is not None else []) + [c for c in self.checkpoints if c != self.base]


@dataclass(frozen=True)
class TransferOutcome:
    """What :func:`compare` measured.

    Attributes:
        result: the fine-tuned scores, the predictions and the (task, n) pairs skipped.
        deltas: ``score(c) - score(base)`` per checkpoint, task, n, seed and metric (empty without a base).
    """

    result: TransferResult
    deltas: list[TransferDelta]


def compare(config: TransferConfig, progress: Progress | None = None) -> TransferOutcome:
    """Fine-tunes every model of ``config`` on every chosen held-out task and scores it.

    Args:
        config: the models, tasks and fine-tuning.
        progress: called with one line per finished work item (``None``: silent).

    Raises:
        ConfigError: a chosen task is not held out, a directory is given twice, or the
            checkpoints' tokenizers differ.
    """
    _, study = build_study_split(config.tasks)
    held = _chosen_held_out(study, config.only_tasks, config.tasks.held_out.split)
    paths = config.model_paths()
    if len(set(paths)) != len(paths):
        raise ConfigError("--checkpoint: a directory is given twice; give each checkpoint once")
    models, tokenizer = _load_models(paths, config.device)

    result = run_transfer(models, tokenizer, held, config.finetune, batched=config.batched, progress=progress)
    deltas = transfer_deltas(result.scores, config.base) if config.base is not None and len(paths) > 1 else []

    if config.predictions is not None:
        lines = "".join(json.dumps(asdict(p)) + "\n" for p in result.predictions)
        config.predictions.write_text(lines, encoding="utf-8")
    return TransferOutcome(result, deltas)


def _chosen_held_out(study: StudySplit, only: Sequence[str], split: str | None) -> list[TaskSplit]:
    """The held-out tasks named in ``only`` (every one when empty), in the split's order."""
    held = [s for s in study.held_out_tasks if not only or s.name in only]
    missing = sorted(set(only) - {s.name for s in held})
    if missing:
        raise ConfigError(
            f"--task {missing[0]}: not a held-out task of split '{split}'; "
            f"choose from {', '.join(study.held_out_names)}"
        )
    return held


def _load_models(paths: list[str], device: str) -> tuple[dict[str, PreTrainedModel], PreTrainedTokenizerBase]:
    """Loads every checkpoint; they must share one tokenizer (fine-tunes of one base model)."""
    models: dict[str, PreTrainedModel] = {}
    tokenizer: PreTrainedTokenizerBase | None = None
    for path in paths:
        loaded = load_model(validate(ModelSpec, {"name_or_path": path, "device": device}, f"--checkpoint {path}"))
        if tokenizer is not None and loaded.tokenizer.get_vocab() != tokenizer.get_vocab():
            raise ConfigError(
                f"--checkpoint {path}: its tokenizer differs from that of {paths[0]}; transfer compares "
                "checkpoints of one base model, give checkpoints that share a tokenizer"
            )
        tokenizer = tokenizer or loaded.tokenizer
        models[path] = loaded.model
    assert tokenizer is not None  # TransferConfig holds at least one checkpoint
    return models, tokenizer
