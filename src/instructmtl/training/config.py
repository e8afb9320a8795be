"""Typed config of one instruction-tuning run (one *arm* × one seed).

The study config holds a list of :class:`ArmConfig` and expands each arm ×
seed into a :class:`TuneConfig`; ``instructmtl tune`` reads a TuneConfig YAML
directly. Strategies are written as a registered name plus keyword
hyperparameters (``sampler: {name: temperature, temperature: 2}`` or just
``sampler: uniform``); names and parameters are checked here, at the edge,
against the registries of :mod:`instructmtl.mtl`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from instructmtl.config.tasks import TasksConfig
from instructmtl.corpus import BuiltinCorpusConfig, SourceConfig, excluding_families, families_in
from instructmtl.errors import ConfigError
from instructmtl.models.spec import ModelSpec

Precision = Literal["fp32", "bf16", "auto"]


class PluginSpec(BaseModel):
    """A strategy chosen by registered name, with its hyperparameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_short_forms(cls, data: Any) -> Any:
        # `uniform` and `{name: temperature, temperature: 2}` are both accepted in YAML
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, dict) and "params" not in data:
            rest = {k: v for k, v in data.items() if k != "name"}
            return {"name": data.get("name"), "params": rest}
        return data


class ReplayConfig(BaseModel):
    """Continual-pretraining replay: corpus blocks trained with the LM loss alongside the instructions.

    Attributes:
        mode: ``add`` (default) trains every step on the full instruction batch plus
            ``ratio * batch_size`` replay blocks, so arms with and without replay see the same
            instructions; ``replace`` makes the replay a ``ratio`` share of the batch.
        ratio: replay blocks per instruction example (``add``: 0 to 4) or replayed share of
            the batch (``replace``: below 1).
        weight: multiplier of the replay loss.
        corpus: the replayed text.
        block_len: tokens per replay block.
        exclude_held_out_families: leave the pattern documents of the study's held-out task
            families out of the (built-in) replay corpus; the trainer resolves the families
            from the held-out tasks' categories.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: Literal["add", "replace"] = "add"
    ratio: float = Field(0.0, ge=0.0)
    weight: float = Field(1.0, ge=0.0)
    corpus: SourceConfig = BuiltinCorpusConfig()
    block_len: int = Field(128, ge=8)
    exclude_held_out_families: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ReplayConfig:
        from instructmtl import mtl  # imported lazily to keep config import light, as ArmConfig does

        mtl.ReplayPlan(self.ratio, self.weight, self.mode)  # the plan's own bounds, one place
        if self.exclude_held_out_families and self.corpus.kind != "builtin":
            raise ValueError(
                f"exclude_held_out_families needs the builtin corpus, not kind '{self.corpus.kind}' "
                "(arbitrary text has no task families); drop the flag or replay the builtin corpus"
            )
        return self

    def corpus_for(self, held_out_categories: Collection[str]) -> SourceConfig:
        """The replayed corpus of a study holding out ``held_out_categories``.

        With ``exclude_held_out_families``, the held-out families' pattern documents are left
        out. Shared by the trainer (what it replays) and the study setup (what it scans).

        Raises:
            ConfigError: no built-in family belongs to those categories (the arm would equal plain replay).
        """
        if not self.exclude_held_out_families:
            return self.corpus
        families = families_in(held_out_categories)
        if not families:
            raise ConfigError(
                "replay.exclude_held_out_families: no built-in family belongs to the held-out categories; "
                "turn the option off (the arm would equal plain replay)"
            )
        return excluding_families(self.corpus, families)


class LoraConfig(BaseModel):
    """Parameter-efficient arm through peft; merged into full weights at each checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rank: int = Field(8, ge=1)
    alpha: float = 16.0
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | None = Field(
        None,
        description="modules that get adapters; None: peft's default for the model's architecture "
        "(q_proj and v_proj for Llama, query_key_value for GPT-NeoX / Pythia)",
    )


class ArmConfig(BaseModel):
    """One way of fitting the multi-task objective: a named combination of strategies."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    sampler: PluginSpec = PluginSpec(name="proportional")
    batching: PluginSpec = PluginSpec(name="mixed")
    aggregator: PluginSpec = PluginSpec(name="mean")
    groups: Literal["task", "category"] = "task"
    groups_per_step: int | None = Field(
        None, ge=2, description="task groups drawn per step (None: every group, so the sampler alone decides the mix)"
    )
    weighting: PluginSpec = PluginSpec(name="equal")
    regularizer: PluginSpec = PluginSpec(name="none")
    replay: ReplayConfig = ReplayConfig()
    lora: LoraConfig | None = None

    @model_validator(mode="after")
    def _strategies_exist(self) -> ArmConfig:
        from instructmtl import mtl  # the registries; imported lazily to keep config import light

        # one call per kind: each registry builds its own type
        mtl.build(mtl.SAMPLERS, self.sampler.name, **self.sampler.params)
        mtl.build(mtl.BATCHING, self.batching.name, **self.batching.params)
        mtl.build(mtl.AGGREGATORS, self.aggregator.name, **self.aggregator.params)
        mtl.build(mtl.WEIGHTINGS, self.weighting.name, **self.weighting.params)
        mtl.build(mtl.REGULARIZERS, self.regularizer.name, **self.regularizer.params)
        if self.aggregator.name != "mean" and self.weighting.name != "equal":
            raise ValueError("a gradient aggregator replaces loss weighting; use weighting 'equal' with it")
        return self

    @property
    def uses_groups(self) -> bool:
        """Whether a step is split into task groups (for an aggregator or a loss weighting)."""
        return self.aggregator.name != "mean" or self.weighting.name != "equal"


class OptimConfig(BaseModel):
    """AdamW with warmup and decay, clipping and accumulation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    warmup: float = Field(0.05, ge=0, le=1, description="fraction of steps")
    schedule: Literal["linear", "cosine", "constant"] = "cosine"
    clip_norm: float | None = 1.0


class TrainDataConfig(BaseModel):
    """Which prompts the run trains on."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    encodings: list[str] = Field(default_factory=lambda: ["def+pos-2"])
    max_length: int = Field(256, ge=16)


class TuneConfig(BaseModel):
    """Everything that shapes one instruction-tuning run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: ModelSpec
    arm: ArmConfig
    tasks: TasksConfig = TasksConfig()
    seed: int = 0
    steps: int = Field(200, ge=1)
    batch_size: int = Field(16, ge=1, description="instruction examples per step, all processes together")
    micro_batch_size: int = Field(16, ge=1)
    data: TrainDataConfig = TrainDataConfig()
    optim: OptimConfig = OptimConfig()
    precision: Precision = "auto"
    gradient_checkpointing: bool = False
    checkpoints: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0])
    state_every: int = Field(50, ge=1, description="steps between resumable-state saves")
    log_every: int = Field(10, ge=1)
    diagnostics_every: int = Field(0, ge=0, description="0 = never")
    trackers: list[Literal["tensorboard", "wandb", "mlflow"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checkpoints_in_range(self) -> TuneConfig:
        for point in self.checkpoints:
            if point <= 0 or (point > 1 and point != int(point)) or (point > 1 and point > self.steps):
                raise ValueError(
                    f"checkpoint {point} must be a fraction in (0, 1] or a step number in [1, {self.steps}]"
                )
        return self

    def checkpoint_steps(self) -> list[int]:
        """Checkpoint steps, sorted: fractions of the run become step numbers (at least 1)."""
        steps = {max(1, round(p * self.steps)) if p <= 1 else int(p) for p in self.checkpoints}
        return sorted(steps)


def run_dir(root: Path, arm: str, seed: int) -> Path:
    """Where a run of ``arm`` with ``seed`` keeps its checkpoints, state and log."""
    return root / "runs" / f"{arm}-seed{seed}"
