"""Evaluate one model without changing its weights: a study's ``eval`` job.

setup: load the model (the base or a tuning checkpoint) → run: ICL on the held-out
tasks under every encoding (also on the two eval halves), MTL generalization on the
train tasks' eval instances, and MTL fit on the train instances the model drew
(:mod:`instructmtl.training.fit_plan`) → save: nothing here; the result goes back to
the caller, which stores it → cleanup: none (the model goes with the call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from instructmtl.evaluation.icl import ScoreRecord, evaluate_fit, evaluate_tasks, stratified_tasks
from instructmtl.evaluation.task_scoring import Prediction
from instructmtl.models import ModelSpec, load_model
from instructmtl.tasks.selection import StudySplit
from instructmtl.training.fit_plan import fit_plan

__all__ = ["IclEvalConfig", "IclEvalResult", "Prediction", "ScoreRecord", "main"]


class IclEvalConfig(BaseModel):
    """In-context learning on held-out tasks, and MTL generalization / fit on train tasks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encodings: list[str] = Field(default_factory=lambda: ["def", "def+pos-2", "pos-4"])
    mtl_encoding: str = "def+pos-2"
    mtl_tasks: int | None = Field(None, ge=1, description="score only the first N train tasks (None: all)")
    mtl_fit_instances: int = Field(16, ge=1)
    max_length: int = Field(512, ge=16)
    batch_size: int = Field(16, ge=1)


@dataclass(frozen=True)
class IclEvalResult:
    """What one eval job measured.

    Attributes:
        records: ICL, MTL-generalization and MTL-fit scores.
        predictions: ``(task, prediction)`` per scored instance (ICL and MTL generalization).
        fit_plan: the fit instances' summary (:meth:`~instructmtl.training.fit_plan.FitPlan.summary`),
            which the validity checks read.
    """

    records: list[ScoreRecord]
    predictions: list[tuple[str, Prediction]]
    fit_plan: dict[str, object]


def main(
    config: IclEvalConfig,
    model: ModelSpec,
    split: StudySplit,
    seed: int,
    fit_encodings: Sequence[str],
    drawn: Mapping[str, Sequence[str]] | None,
) -> IclEvalResult:
    """Scores one model on every eval measure.

    Args:
        config: what to score and how.
        model: the model to load (the base, or a checkpoint directory).
        split: the study's tasks, held-out and train.
        seed: the study seed (demonstrations, and the draw order behind MTL fit).
        fit_encodings: the training encodings (each train instance is one example per encoding).
        drawn: the checkpoint's record of drawn instances (task → ids); ``None`` for the base model.
    """
    loaded = load_model(model)
    mtl_tasks = stratified_tasks(split.train_tasks, config.mtl_tasks)
    icl = evaluate_tasks(
        loaded.model,
        loaded.tokenizer,
        split.held_out_tasks,
        config.encodings,
        measure="icl",
        role="held_out",
        halves=True,
        seed=seed,
        max_length=config.max_length,
        batch_size=config.batch_size,
    )
    gen = evaluate_tasks(
        loaded.model,
        loaded.tokenizer,
        mtl_tasks,
        [config.mtl_encoding],
        measure="mtl_gen",
        role="train",
        seed=seed,
        max_length=config.max_length,
        batch_size=config.batch_size,
    )
    plan = fit_plan(mtl_tasks, fit_encodings, seed, config.mtl_fit_instances, drawn)
    fit = evaluate_fit(
        loaded.model,
        loaded.tokenizer,
        mtl_tasks,
        config.mtl_encoding,
        instances=plan.instances,
        seed=seed,
        max_length=config.max_length,
        batch_size=config.batch_size,
    )
    predictions = [(task, p) for out in (icl, gen) for (task, _), preds in out.predictions.items() for p in preds]
    return IclEvalResult([*icl.records, *gen.records, *fit], predictions, plan.summary())
