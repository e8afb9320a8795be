"""The typed config of few-shot fine-tuning on held-out tasks (parameter transfer, DESIGN.md claim 1).

``transfer(c, t, n) = score(fine-tune(c, t, n)) - score(fine-tune(base, t, n))``
is only a fair comparison when every model gets the same budget and the same
data in the same order, so everything that shapes a fine-tune lives here and
nothing in it depends on the checkpoint: a fixed number of optimizer steps
whatever ``n`` is, batches of ``min(n, batch_size)`` instances cycling through
the first ``n`` train instances of the task in an order fixed by (seed, task, n).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from instructmtl.prompts import parse_encoding

FinetuneMode = Literal["full", "lora"]
FinetunePrecision = Literal["fp32", "bf16"]


class LoraSettings(BaseModel):
    """Low-rank adapters (through ``peft``) instead of updating every weight.

    Attributes:
        rank: adapter rank r.
        alpha: scaling numerator (the update is ``alpha / rank * B @ A``).
        targets: names of the linear modules that get adapters; None: peft's default for the
            model's architecture (Llama and GPT-NeoX name their attention projections differently).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    rank: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0)
    targets: tuple[str, ...] | None = None


class FinetuneConfig(BaseModel):
    """How each model is fine-tuned on each held-out task and scored.

    Attributes:
        n: training-instance counts of the curve; ``0`` means no update (the
            checkpoint itself is scored). A task with fewer train instances
            than some ``n`` gets no result for it (listed as skipped).
        encoding: prompt encoding of training and eval prompts (``id``: a unique
            task identifier, no definition; ``pos-k``: k demonstrations).
        steps: optimizer steps of every fine-tune, independent of ``n``.
        batch_size: instances per step at most; a fine-tune on ``n`` uses ``min(n, batch_size)``.
        lr: AdamW learning rate (constant: 20 steps leave no room for a schedule).
        weight_decay: AdamW decoupled decay on matrices (not on norms and biases).
        betas: AdamW betas.
        clip_norm: per-fine-tune gradient-norm clipping; ``None`` turns it off.
        seeds: each seed fixes the cycling order of the ``n`` instances, the
            demonstrations of ``pos-k`` and the LoRA initialisation.
        repeats: fine-tunes per (model, task, n) cell in a study, with seeds
            :meth:`study_seeds`; the study stores their mean, so a cell's fine-tune
            noise shrinks while every model of a seed still sees the same runs.
        also_encodings: further encodings a study runs the whole n-curve with (e.g.
            ``pos-2``: the task given by exemplars, as DESIGN.md describes transfer).
        mode: ``full`` (every weight; batched across fine-tunes) or ``lora``
            (adapters only; run one fine-tune at a time).
        lora: adapter settings for ``mode: lora``.
        max_length: context budget of a prompt plus its target, in tokens.
        precision: ``fp32`` (the reference, exactly reproducible) or ``bf16``
            autocast for the fine-tuning forward/backward; scoring is always fp32.
        eval_batch_size: rows per forward when scoring.
        grid_memory_gb: memory the batched grid may use (estimated), shared by the chunks that train at once.
        grid_max_members: fine-tunes trained together in one chunk at most.
        grid_min_efficiency: the smallest share of a chunk's rows and positions that
            its members would compute alone (the rest pads members to the chunk's widest
            shape); members whose shapes differ more go to separate chunks.
        workers: work items (grid chunks, one-by-one fine-tunes, scorings of a model)
            run at once, each in a thread on one core (:mod:`.parallel`); ``None``: one
            per torch intra-op thread on CPU, one on GPU. Fewer chunks run at once when
            that many would not fit ``grid_memory_gb``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    n: tuple[int, ...] = (0, 5, 10, 20, 40)
    encoding: str = "id"
    steps: int = Field(20, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    clip_norm: float | None = Field(1.0, gt=0)
    seeds: tuple[int, ...] = (0,)
    repeats: int = Field(1, ge=1)
    also_encodings: tuple[str, ...] = ()
    mode: FinetuneMode = "full"
    lora: LoraSettings = LoraSettings()
    max_length: int = Field(256, ge=16)
    precision: FinetunePrecision = "fp32"
    eval_batch_size: int = Field(16, ge=1)
    grid_memory_gb: float = Field(4.0, gt=0)
    grid_max_members: int = Field(16, ge=1)
    grid_min_efficiency: float = Field(0.85, ge=0, le=1)
    workers: int | None = Field(None, ge=1)

    @field_validator("n")
    @classmethod
    def _counts(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("give at least one training-instance count, e.g. [0, 5, 10]")
        if any(n < 0 for n in value) or len(set(value)) != len(value):
            raise ValueError(f"counts must be distinct and >= 0, got {list(value)}")
        return tuple(sorted(value))

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"give one or more distinct seeds, got {list(value)}")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        # raises the registry's one-line error (with close matches) for a typo
        return parse_encoding(value).name

    @field_validator("also_encodings")
    @classmethod
    def _also_encodings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(parse_encoding(name).name for name in value)

    def study_seeds(self, seed: int) -> tuple[int, ...]:
        """The fine-tune seeds of one study seed's cells: ``repeats`` of them, the same for every model
        of that seed (so transfer stays paired), each with its own data order."""
        return tuple(seed * 1000 + r for r in range(self.repeats))

    def rows(self, n: int) -> int:
        """Instances per step of a fine-tune on ``n`` instances: ``min(n, batch_size)``."""
        return min(n, self.batch_size)
