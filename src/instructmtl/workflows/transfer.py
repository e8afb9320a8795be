"""Few-shot fine-tune one model on the held-out tasks: a study's ``transfer`` job.

setup: load the model (the base or a tuning checkpoint) → run: the fine-tuning
grid over held-out tasks × n × the job's seeds, once per encoding (the main one,
then ``also_encodings``) → save: nothing here; the result goes back to the
caller, which stores it → cleanup: none (the model goes with the call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.transfer import FinetunePrediction, run_transfer
from instructmtl.models import ModelSpec, load_model
from instructmtl.tasks.selection import TaskSplit

__all__ = ["FinetunePrediction", "TransferCell", "TransferJobResult", "main"]


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


def main(config: FinetuneConfig, model: ModelSpec, checkpoint_id: str, held_out: Sequence[TaskSplit],
         seed: int) -> TransferJobResult:
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
        cells += [TransferCell(task, enc, n, metric, sum(v for v, _ in values) / len(values), values[0][1], subset)
                  for (task, enc, n, metric, subset), values in repeats.items()]
        predictions += [p for p in result.predictions if p.seed == seeds[0]]
    return TransferJobResult(cells, predictions)
