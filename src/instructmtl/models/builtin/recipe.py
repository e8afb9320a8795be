"""What shapes a pretrained built-in base model, and the record saved next to its weights.

The recipe's hash is the base model's cache key: two calls with the same
recipe share one directory, and any change that could change the weights
(preset dimensions, corpus, seed, steps, precision, the training code's
:data:`RECIPE_VERSION`) gives a new one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

from instructmtl.corpus.config import BuiltinCorpusConfig, SourceConfig
from instructmtl.models.builtin.presets import Precision, Preset

#: Bump when the training code changes in a way that changes the weights.
RECIPE_VERSION = 1
#: File, inside a base-model directory, holding its :class:`BaseMetadata`.
METADATA_FILE = "instructmtl_base.json"


class PretrainRecipe(BaseModel):
    """Everything that determines a pretrained built-in base model.

    Attributes:
        preset: the registered preset name (``micro``, ``tiny``, ``small``).
        seed: seeds the model's initialisation, the corpus and the tokenizer sample.
        steps: optimiser steps; ``None`` takes the preset's.
        precision: ``None`` takes the preset's.
        corpus: the pretraining text; the built-in corpus by default.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: str = "tiny"
    seed: int = 0
    steps: int | None = Field(default=None, ge=1)
    precision: Precision | None = None
    corpus: SourceConfig = Field(default_factory=BuiltinCorpusConfig)


def recipe_key(recipe: PretrainRecipe, preset: Preset) -> str:
    """The cache key: 16 hex digits of a SHA-256 over the recipe, the resolved preset and the code version.

    The preset's *values* are hashed, not just its name, so editing a preset's
    dimensions can never return a model trained with the old ones.
    """
    # resolve the preset's defaults first: "--steps 3000" and "the preset's own 3000 steps" (tiny) are one model
    resolved = recipe.model_copy(
        update={"steps": recipe.steps or preset.steps, "precision": recipe.precision or preset.precision}
    )
    payload = {
        "recipe_version": RECIPE_VERSION,
        "recipe": resolved.model_dump(mode="json"),
        "preset": dataclasses.asdict(preset),
    }
    blob = json.dumps(payload, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


class IclFigure(BaseModel):
    """One point of the ICL probe, as stored in the metadata (see :mod:`instructmtl.evaluation.probe`)."""

    model_config = ConfigDict(frozen=True)

    loss: float
    exact_match: float


class BaseMetadata(BaseModel):
    """The record saved as :data:`METADATA_FILE` in a base-model directory.

    Attributes:
        key: :func:`recipe_key` of the recipe.
        recipe: the recipe as given.
        preset: the resolved preset values.
        params: number of parameters (tied embeddings counted once).
        steps: optimiser steps run.
        tokens_seen: training tokens processed.
        final_loss: mean training loss over the last 5% of steps.
        loss_curve: ``(step, loss)`` every few steps.
        seconds: wall time of training (tokenizer included).
        tokens_per_second: training throughput.
        precision: the precision actually used.
        versions: library versions that trained it.
        command: the shell command that reproduces the model.
        icl_heldout: k → ICL probe figures on the default split's held-out built-in
            tasks, when the workflow was asked to probe (``--probe``).
    """

    model_config = ConfigDict(frozen=True)

    key: str
    recipe: PretrainRecipe
    preset: dict[str, object]
    params: int
    steps: int
    tokens_seen: int
    final_loss: float
    loss_curve: list[tuple[int, float]]
    seconds: float
    tokens_per_second: float
    precision: Precision
    versions: dict[str, str]
    command: str
    icl_heldout: dict[int, IclFigure] | None = None
