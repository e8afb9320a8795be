"""What a study will cost before it runs: FLOPs, peak memory and wall time per job, on a device class.

Pure arithmetic over counted work (:class:`JobWork`, from :mod:`instructmtl.study.cost`)
and a model's shape; no model, tokenizer or store is read here. Written by hand because
no maintained library prices a whole multi-stage study: ``accelerate estimate-memory``
sizes weights only, ``calflops``/``fvcore`` count one forward pass.

* **FLOPs** follow Kaplan et al. (2020): ``2 N`` per token forward and ``6 N`` per token
  trained, with ``N`` the non-embedding parameters, plus causal attention
  (``2 L d n`` per token forward at sequence length ``n``) and the output layer
  (``2 V d``) only where logits are needed: target, choice and generated tokens.
* **Peak memory** of a job: the weights, and for training the gradients and AdamW's two
  moments of the trained parameters, plus activations after Korthikanti et al. (2022),
  ``s b h (34 + 5 a s / h)`` bytes per layer at 16 bits (doubled in fp32), plus the logits.
* **Wall time** per job is ``overhead + tokens * seconds_per_token + FLOPs / rate``, one
  :class:`StageRate` per stage and device class. On a CPU they are fitted to measured job
  times of pilot studies (:func:`fit_device`); a GPU is priced from its peak bf16 TFLOP/s at an assumed
  utilisation (:func:`gpu_device`), which is a stated assumption, not a measurement.
* **Study wall time** schedules the jobs on the study's workers in dependency order
  (:func:`schedule`), as the local executor does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import optimize

STAGES = ("tune", "eval", "transfer")
GIB = 1024**3


@dataclass(frozen=True)
class ModelShape:
    """The sizes that set a transformer's cost.

    Attributes:
        params: all parameters (embeddings included, tied ones once).
        embedding_params: input-embedding parameters (``vocab * hidden``).
        vocab: vocabulary size.
        hidden: model width.
        layers: transformer blocks.
        heads: attention heads.
    """

    params: int
    embedding_params: int
    vocab: int
    hidden: int
    layers: int
    heads: int

    @property
    def non_embedding(self) -> int:
        return max(self.params - self.embedding_params, 0)


@dataclass(frozen=True)
class JobWork:
    """The counted work of one study job.

    Attributes:
        job_id / stage: as in the study's job graph.
        deps: job ids that must finish first.
        trained_tokens: tokens that get a forward and a backward pass.
        forward_tokens: tokens that get a forward pass only (scoring, prompt prefixes).
        logit_tokens: tokens whose logits are computed (targets, choices, generated tokens).
        generated_tokens: tokens produced one at a time by greedy decoding (also in
            ``logit_tokens``; each costs a forward of one position over the cache).
        mean_length: mean sequence length, for the attention term.
        trained_params: parameters the optimiser updates (all, or a LoRA adapter).
        models_in_memory: model copies held at once (the transfer grid stacks members).
        micro_batch / peak_length: the largest batch the job runs, for activations.
        bytes_per_activation: 2 for bf16 autocast, 4 for fp32.
        grid_memory_gib: the memory budget a batched transfer grid sizes its chunks to.
    """

    job_id: str
    stage: str
    deps: tuple[str, ...] = ()
    trained_tokens: float = 0.0
    forward_tokens: float = 0.0
    logit_tokens: float = 0.0
    generated_tokens: float = 0.0
    mean_length: float = 0.0
    trained_params: int = 0
    models_in_memory: int = 1
    micro_batch: int = 1
    peak_length: int = 1
    bytes_per_activation: int = 4
    grid_memory_gib: float = 0.0

    @property
    def tokens(self) -> float:
        return self.trained_tokens + self.forward_tokens + self.generated_tokens


def flops(work: JobWork, shape: ModelShape) -> float:
    """Floating-point operations of one job (see the module docstring)."""
    per_token_forward = 2.0 * shape.non_embedding + 2.0 * shape.layers * shape.hidden * work.mean_length
    trained = work.trained_tokens * per_token_forward * 3.0  # forward + backward (twice the forward)
    forward = (work.forward_tokens + work.generated_tokens) * per_token_forward
    logits = 2.0 * shape.vocab * shape.hidden * work.logit_tokens
    return trained + forward + logits


def peak_memory_bytes(work: JobWork, shape: ModelShape) -> float:
    """Peak memory of one job: weights, optimiser state, and the largest batch's activations.

    Training keeps every layer's activations for the backward pass; scoring and generation
    keep one layer's and the key/value cache. A batched transfer grid sizes its chunks to
    ``grid_memory_gib`` (its own budget), so its members add at most that, or one member's
    needs when one alone is larger.
    """
    s, b, h, a = work.peak_length, work.micro_batch, shape.hidden, shape.heads
    per_layer = s * b * h * (34.0 + 5.0 * a * s / max(h, 1)) * (work.bytes_per_activation / 2.0)
    logits = 2.0 * 4.0 * b * s * shape.vocab
    weights = 4.0 * shape.params
    if not work.trained_params:
        kv_cache = 2.0 * shape.layers * b * s * h * work.bytes_per_activation
        return weights + per_layer + kv_cache + logits
    training = 12.0 * work.trained_params + per_layer * shape.layers + logits  # grads, AdamW moments, activations
    if work.models_in_memory > 1:  # each grid member holds its own weights as well
        member = 4.0 * work.trained_params + training
        return weights + max(member, min(member * work.models_in_memory, work.grid_memory_gib * GIB))
    return weights + training


@dataclass(frozen=True)
class StageRate:
    """Seconds of one job of a stage.

    ``overhead + tokens * seconds_per_token + flops / flops_per_second``: the token term is
    what does not grow with the model (Python, kernel launches, tokenization and decoding
    loops), which dominates a 1M-parameter model on a CPU; the FLOP term is the matrix
    work, which dominates a 100M-parameter one (loading a model, once per job, is
    absorbed in both).
    """

    overhead_seconds: float
    flops_per_second: float
    seconds_per_token: float = 0.0

    def seconds(self, job_flops: float, tokens: float = 0.0) -> float:
        flop_seconds = job_flops / self.flops_per_second if math.isfinite(self.flops_per_second) else 0.0
        return self.overhead_seconds + tokens * self.seconds_per_token + flop_seconds


@dataclass(frozen=True)
class DeviceClass:
    """A kind of machine the planner prices work on.

    Attributes:
        name: e.g. ``cpu-2core`` or ``gpu-989tflops``.
        memory_gib: memory one job may use.
        rates: per stage, how fast it runs.
        basis: how the rates were obtained (fitted on which studies, or assumed).
        fitted_params: the smallest and largest model (parameters) the rates were fitted on;
            ``None`` for assumed rates.
    """

    name: str
    memory_gib: float
    rates: Mapping[str, StageRate]
    basis: str = ""
    fitted_params: tuple[int, int] | None = None

    def extrapolation(self, shape: ModelShape) -> str | None:
        """A warning when ``shape`` lies far (over 3x) outside the model sizes the rates were fitted on."""
        if self.fitted_params is None:
            return None
        low, high = self.fitted_params
        if low / 3 <= shape.params <= high * 3:
            return None
        return (
            f"the {self.name} rates were fitted on models of {low / 1e6:.1f}-{high / 1e6:.1f}M parameters and "
            f"this one has {shape.params / 1e6:.1f}M: the estimate extrapolates (it counts all time as FLOPs, "
            "which overstates a larger model's time); fit on a pilot of this model with bench/cost_model.py"
        )

    def seconds(self, work: JobWork, shape: ModelShape) -> float:
        return self.rates[work.stage].seconds(flops(work, shape), work.tokens)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "memory_gib": self.memory_gib,
            "basis": self.basis,
            "fitted_params": list(self.fitted_params) if self.fitted_params is not None else None,
            "rates": {
                s: {
                    "overhead_seconds": r.overhead_seconds,
                    # None: no FLOP term (all of the stage's time went to its tokens)
                    "flops_per_second": r.flops_per_second if math.isfinite(r.flops_per_second) else None,
                    "seconds_per_token": r.seconds_per_token,
                }
                for s, r in self.rates.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DeviceClass:
        rates = data["rates"]
        assert isinstance(rates, Mapping)
        return cls(
            str(data["name"]),
            float(data["memory_gib"]),  # type: ignore[arg-type]  # parsed JSON: a number written by as_dict
            {
                s: StageRate(
                    float(r["overhead_seconds"]),
                    math.inf if r["flops_per_second"] is None else float(r["flops_per_second"]),
                    float(r.get("seconds_per_token", 0.0)),
                )
                for s, r in rates.items()
            },
            str(data.get("basis", "")),
            _pair(data.get("fitted_params")),
        )


def _pair(value: object) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


#: Utilisation assumed on a GPU per stage (share of peak bf16 FLOP/s). Training a small model at
#: sequence lengths of a few hundred tokens reaches roughly a third of peak; evaluation is
#: dominated by greedy decoding, which is memory-bound; the transfer grid sits between.
GPU_UTILISATION = {"tune": 0.35, "eval": 0.08, "transfer": 0.2}
#: Seconds per GPU job for loading the model, building prompts and writing results (assumed).
GPU_OVERHEAD_SECONDS = {"tune": 20.0, "eval": 15.0, "transfer": 15.0}


def gpu_device(peak_tflops: float, memory_gib: float) -> DeviceClass:
    """A GPU priced from its peak bf16 TFLOP/s and memory, at :data:`GPU_UTILISATION`."""
    rates = {s: StageRate(GPU_OVERHEAD_SECONDS[s], peak_tflops * 1e12 * GPU_UTILISATION[s]) for s in STAGES}
    return DeviceClass(
        f"gpu-{peak_tflops:g}tflops-{memory_gib:g}gib",
        memory_gib,
        rates,
        "assumed utilisation of peak bf16: " + ", ".join(f"{s} {u:.0%}" for s, u in GPU_UTILISATION.items()),
    )


def shipped_device_path() -> Path:
    """Where the package keeps the fitted 2-core CPU device (written by ``bench/cost_model.py --write``)."""
    return Path(str(resources.files("instructmtl") / "assets" / "cost" / "cpu-2core.json"))


def shipped_cpu_device() -> DeviceClass:
    """The 2-core CPU device class fitted on measured studies (``bench/cost_model.py``)."""
    return DeviceClass.from_dict(json.loads(shipped_device_path().read_text()))


@dataclass(frozen=True)
class Measured:
    """One finished job of a pilot: its stage, its counted tokens and FLOPs, and its measured seconds."""

    stage: str
    flops: float
    seconds: float
    tokens: float = 0.0
    params: int = 0


def fit_device(name: str, memory_gib: float, samples: Iterable[Measured], basis: str) -> DeviceClass:
    """Fits each stage's :class:`StageRate` by non-negative least squares on its measured jobs.

    Pilots of models of different sizes (FLOPs per token differing over 4x) separate the
    per-token and per-FLOP terms. Pilots of one size give both in a nearly fixed ratio,
    so they cannot be told apart: then every
    second is put on FLOPs (plus a constant overhead where job sizes vary over 2x), which
    overstates rather than understates the time of a larger model. Columns are scaled to
    their largest value before the fit.

    Raises:
        ValueError: a stage has no sample.
    """
    samples_list = list(samples)
    by_stage: dict[str, list[Measured]] = {s: [] for s in STAGES}
    for m in samples_list:
        by_stage.setdefault(m.stage, []).append(m)
    rates = {}
    for stage, items in by_stage.items():
        if not items:
            raise ValueError(f"no measured {stage} job to fit the {name} cost model on")
        flop = np.array([m.flops for m in items])
        tokens = np.array([m.tokens for m in items])
        y = np.array([m.seconds for m in items])
        spread = np.ptp(np.log(flop)) > math.log(2.0)
        per_token_flops = flop / np.maximum(tokens, 1.0)
        sizes = bool(tokens.min() > 0) and np.ptp(np.log(per_token_flops)) > math.log(4.0)
        if sizes:
            names, columns = ["token", "flop"], [tokens, flop]
        else:
            names, columns = (["overhead"] if spread else []) + ["flop"], ([np.ones_like(y)] if spread else []) + [flop]
        design = np.stack(columns, axis=1)
        scale = np.where(design.max(axis=0) > 0, design.max(axis=0), 1.0)
        coef, _ = optimize.nnls(design / scale, y)
        fitted = dict(zip(names, coef / scale, strict=True))
        per_flop = float(fitted["flop"])
        rates[stage] = StageRate(
            float(fitted.get("overhead", 0.0)),
            1.0 / per_flop if per_flop > 0 else math.inf,
            float(fitted.get("token", 0.0)),
        )
    params = [m.params for m in samples_list if m.params > 0]
    return DeviceClass(name, memory_gib, rates, basis, (min(params), max(params)) if params else None)


@dataclass(frozen=True)
class JobEstimate:
    """One job priced on a device."""

    work: JobWork
    flops: float
    peak_memory_gib: float
    seconds: float
    fits: bool


@dataclass(frozen=True)
class StudyEstimate:
    """A whole study priced on a device: per job, per stage and scheduled on its workers."""

    device: DeviceClass
    workers: int
    jobs: tuple[JobEstimate, ...]
    wall_seconds: float
    stage_wall_seconds: Mapping[str, float] = field(default_factory=dict)
    extrapolation: str | None = None

    def stage_totals(self) -> dict[str, dict[str, float]]:
        """Per stage: jobs, tokens, FLOPs, summed job seconds, largest peak memory and whether all fit."""
        out: dict[str, dict[str, float]] = {}
        for stage in STAGES:
            jobs = [j for j in self.jobs if j.work.stage == stage]
            out[stage] = {
                "jobs": float(len(jobs)),
                "tokens": float(sum(j.work.tokens for j in jobs)),
                "flops": float(sum(j.flops for j in jobs)),
                "job_seconds": float(sum(j.seconds for j in jobs)),
                "peak_memory_gib": max((j.peak_memory_gib for j in jobs), default=0.0),
                "fits": float(all(j.fits for j in jobs)),
            }
        return out


def schedule(durations: Sequence[tuple[str, tuple[str, ...], float]], workers: int) -> float:
    """Wall time of running jobs on ``workers`` as the local executor does.

    Whenever a worker is free it takes the first job, in list order, whose dependencies
    are all done; when none is ready, time moves to the next job's end.

    Args:
        durations: ``(job_id, deps, seconds)`` in the order the runner submits them.
        workers: jobs that run at once.
    """
    known = {job_id for job_id, _, _ in durations}
    pending = list(durations)
    running: list[tuple[float, str]] = []  # (end time, job id)
    done: set[str] = set()
    now = 0.0
    while pending or running:
        started = True
        while started and len(running) < max(workers, 1):
            started = False
            for job in pending:
                if all(d in done or d not in known for d in job[1]):
                    pending.remove(job)
                    running.append((now + job[2], job[0]))
                    started = True
                    break
        if not running:  # only jobs waiting on each other remain: nothing more can run
            break
        running.sort()
        now, finished = running.pop(0)
        done.add(finished)
    return now


def estimate_study(works: Sequence[JobWork], shape: ModelShape, device: DeviceClass, workers: int) -> StudyEstimate:
    """Prices every job on ``device`` and schedules them on ``workers``."""
    memory_limit = device.memory_gib / max(workers, 1)
    jobs = []
    for work in works:
        job_flops = flops(work, shape)
        peak = peak_memory_bytes(work, shape) / GIB
        jobs.append(
            JobEstimate(
                work,
                job_flops,
                peak,
                device.rates[work.stage].seconds(job_flops, work.tokens),
                peak <= memory_limit,
            )
        )
    wall = schedule([(j.work.job_id, j.work.deps, j.seconds) for j in jobs], workers)
    stage_wall = {s: sum(j.seconds for j in jobs if j.work.stage == s) / max(workers, 1) for s in STAGES}
    return StudyEstimate(device, workers, tuple(jobs), wall, stage_wall, device.extrapolation(shape))
