"""The study config: one YAML file that shapes a whole study (``instructmtl run``).

Parsed once, at the edge, into frozen pydantic models; the runner expands it
into one :class:`~instructmtl.training.config.TuneConfig` per arm × seed and
one evaluation / transfer job per checkpoint. Errors are one line naming the
key and the allowed values (see :func:`instructmtl.config.validate`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from instructmtl.config import apply_overrides, read_yaml, validate
from instructmtl.config.tasks import TasksConfig
from instructmtl.errors import ConfigError
from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.models.spec import ModelSpec
from instructmtl.training.config import ArmConfig, OptimConfig, Precision, TrainDataConfig, TuneConfig
from instructmtl.workflows.icl_eval import IclEvalConfig

BUILTIN_MODEL_PREFIX = "builtin:"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TuneSection(_Section):
    """The instruction-tuning budget every arm shares (same steps and batch: same number of examples)."""

    steps: int = Field(200, ge=1)
    batch_size: int = Field(16, ge=1)
    micro_batch_size: int = Field(16, ge=1)
    data: TrainDataConfig = TrainDataConfig()
    optim: OptimConfig = OptimConfig()
    precision: Precision = "auto"
    checkpoints: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0])
    state_every: int = Field(50, ge=1)
    log_every: int = Field(10, ge=1)
    diagnostics_every: int = Field(0, ge=0)


class ExecutorConfig(_Section):
    """Where jobs run: ``local`` (in this process, or several worker processes) or ``ray``."""

    kind: Literal["local", "ray"] = "local"
    workers: int = Field(1, ge=1)
    address: str | None = Field(None, description="ray cluster address (None: start a local instance)")


class AnalysisSection(_Section):
    """Which arms the claims compare, and the bootstrap."""

    baseline_arm: str | None = Field(None, description="default: the first arm")
    replay_arms: list[str] | None = Field(None, description="default: arms whose name contains 'replay'")
    n_bootstrap: int = Field(1000, ge=100)
    seed: int = 0


class StudyConfig(_Section):
    """Everything a study is."""

    name: str = "study"
    output_dir: Path = Path("studies/study")
    base: ModelSpec = ModelSpec(name_or_path="builtin:tiny")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    tasks: TasksConfig = TasksConfig()
    tune: TuneSection = TuneSection()
    arms: list[ArmConfig] = Field(min_length=1)
    icl: IclEvalConfig = IclEvalConfig()
    transfer: FinetuneConfig = FinetuneConfig()
    executor: ExecutorConfig = ExecutorConfig()
    analysis: AnalysisSection = AnalysisSection()

    @model_validator(mode="after")
    def _arms_are_distinct(self) -> StudyConfig:
        names = [arm.name for arm in self.arms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"arm names must be unique; repeated: {', '.join(duplicates)}")
        for name in [self.analysis.baseline_arm, *(self.analysis.replay_arms or [])]:
            if name is not None and name not in names:
                raise ValueError(f"analysis names arm '{name}', which is not one of: {', '.join(names)}")
        return self

    @property
    def builtin_preset(self) -> str | None:
        """The built-in base model preset when ``base`` names one (``builtin:tiny``), else None."""
        text = self.base.name_or_path
        return text[len(BUILTIN_MODEL_PREFIX) :] if text.startswith(BUILTIN_MODEL_PREFIX) else None

    def tune_config(self, arm: ArmConfig, seed: int, base: ModelSpec) -> TuneConfig:
        """The TuneConfig of one arm × seed (``base`` is the resolved base model)."""
        t = self.tune
        return TuneConfig(
            model=base,
            arm=arm,
            tasks=self.tasks,
            seed=seed,
            steps=t.steps,
            batch_size=t.batch_size,
            micro_batch_size=t.micro_batch_size,
            data=t.data,
            optim=t.optim,
            precision=t.precision,
            checkpoints=t.checkpoints,
            state_every=t.state_every,
            log_every=t.log_every,
            diagnostics_every=t.diagnostics_every,
        )


PRESETS = ("default", "smoke", "smollm2-sni", "gpu")


def preset_path(name: str) -> Path:
    """The YAML file of a shipped preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; presets: {', '.join(PRESETS)}, or give a YAML path")
    return Path(str(resources.files("instructmtl") / "configs" / f"{name}.yaml"))


def load_study_config(config: str | None, overrides: list[str] | None = None, out: Path | None = None) -> StudyConfig:
    """Reads a preset name or YAML path (``None``: the default preset), applies overrides and ``--out``."""
    if config is not None and config not in PRESETS and not Path(config).is_file():
        raise ConfigError(f"'{config}' is neither a preset ({', '.join(PRESETS)}) nor a YAML file; give one of them")
    path = preset_path(config or "default") if config is None or config in PRESETS else Path(config)
    data = apply_overrides(read_yaml(path), overrides or [])
    if out is not None:
        data["output_dir"] = str(out)
    return validate(StudyConfig, data, str(path))
