"""Counts a study's work from its config alone: tokens per job, and the base model's shape.

The planner (:mod:`instructmtl.analysis.cost_model`) turns this into FLOPs, memory and
wall time. Nothing is trained or scored here: the split is drawn, a sample of each
job kind's prompts is encoded and tokenized with the base model's tokenizer, and the
model's shape is read from its config (weights built on the ``meta`` device, so a 1B
model costs no memory). Each job's counts follow what the job runs
(:mod:`instructmtl.study.jobs`): a tune job trains ``steps * batch_size`` examples
(plus replay blocks); an eval job scores the held-out tasks' ICL prompts and the MTL
tasks' fit and generalization prompts, with one shared prefix per task; a transfer job
fine-tunes every held-out task at every ``n > 0`` ``repeats`` times and scores every
fine-tuned model, and the unchanged one, on the task's eval instances.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerBase

from instructmtl.analysis.cost_model import DeviceClass, JobWork, ModelShape, StudyEstimate, estimate_study
from instructmtl.config.tasks import build_study_split
from instructmtl.errors import ConfigError
from instructmtl.evaluation.icl import stratified_tasks
from instructmtl.models import ModelSpec
from instructmtl.models.loading import load_tokenizer
from instructmtl.models.sources import resolve_model_location
from instructmtl.prompts import TaskPrompter, parse_encoding
from instructmtl.study.config import StudyConfig
from instructmtl.study.jobs import build_jobs
from instructmtl.tasks import TaskSplit

#: Instances per task whose prompts are tokenized to estimate a mean length.
SAMPLE_PER_TASK = 4
#: Tasks sampled per role for those lengths (all of them when fewer).
SAMPLE_TASKS = 24


@dataclass(frozen=True)
class PromptLengths:
    """Mean token counts of one kind of prompt, from a sample.

    Attributes:
        prefix: the shared part (definition, demonstrations).
        query: the instance part.
        target: the target and its end marker.
    """

    prefix: float
    query: float
    target: float

    @property
    def example(self) -> float:
        return self.prefix + self.query + self.target


def model_shape(spec: ModelSpec) -> ModelShape:
    """The base model's shape, from its config, with parameters counted on the ``meta`` device."""
    location = resolve_model_location(spec)
    kwargs: dict[str, object] = {"trust_remote_code": spec.trust_remote_code}
    if location.gguf_file is not None:
        kwargs["gguf_file"] = location.gguf_file
    try:
        config = AutoConfig.from_pretrained(str(location.path_or_id), **kwargs)
    except OSError as err:
        raise ConfigError(
            f"base.name_or_path={spec.name_or_path}: cannot read its config to price the study "
            f"({type(err).__name__}); offline, set base.name_or_path to a local model folder of the "
            "same architecture"
        ) from err
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=spec.trust_remote_code)
    params = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    hidden = int(config.hidden_size)
    return ModelShape(
        params,
        embedding,
        int(config.vocab_size),
        hidden,
        int(config.num_hidden_layers),
        int(config.num_attention_heads),
    )


def prompt_lengths(
    tokenizer: PreTrainedTokenizerBase,
    splits: Sequence[TaskSplit],
    encodings: Sequence[str],
    *,
    instances: str,
    seed: int,
    max_length: int,
) -> PromptLengths:
    """Mean prefix, query and target tokens of ``encodings`` over a sample of ``splits``' instances.

    Args:
        instances: ``"train"`` or ``"eval"``: which side of each task is encoded.
        max_length: examples are cut to this many tokens, as the data builders cut them.
    """
    rng = random.Random(seed)
    chosen = list(splits) if len(splits) <= SAMPLE_TASKS else rng.sample(list(splits), SAMPLE_TASKS)
    prefixes, queries, targets = [], [], []
    for split in chosen:
        pool = split.train if instances == "eval" else ()
        sample = list(split.eval if instances == "eval" else split.train)[:SAMPLE_PER_TASK]
        for name in encodings:
            try:
                prompter = TaskPrompter(split.task, parse_encoding(name), seed, pool)
            except Exception:  # a task without enough demonstrations is left out of the sample
                continue
            for inst in sample:
                try:
                    prompt = prompter.encode(inst)
                except Exception:  # an instance that is its own demonstration candidate
                    continue
                p, q, t = (
                    len(tokenizer(text, add_special_tokens=False)["input_ids"])
                    for text in (prompt.prefix, prompt.query, prompt.completion)
                )
                scale = min(1.0, max_length / max(p + q + t, 1))
                prefixes.append(p * scale)
                queries.append(q * scale)
                targets.append(t * scale)
    if not prefixes:
        return PromptLengths(0.0, 0.0, 0.0)
    return PromptLengths(float(np.mean(prefixes)), float(np.mean(queries)), float(np.mean(targets)))


def _bytes_per_activation(precision: str) -> int:
    return 2 if precision in ("bf16", "auto") else 4


def study_work(config: StudyConfig, base: ModelSpec) -> tuple[ModelShape, list[JobWork]]:
    """The shape of ``base`` and the counted work of every job of ``config``'s study, in run order.

    Args:
        config: the study.
        base: the resolved base model (a built-in preset already replaced by its folder).
    """
    shape = model_shape(base)
    tokenizer = load_tokenizer(base, padding_side="right")
    _, split = build_study_split(config.tasks)
    seed = config.seeds[0]
    tune_len = prompt_lengths(
        tokenizer,
        split.train_tasks,
        config.tune.data.encodings,
        instances="train",
        seed=seed,
        max_length=config.tune.data.max_length,
    )
    icl_len = prompt_lengths(
        tokenizer,
        split.held_out_tasks,
        config.icl.encodings,
        instances="eval",
        seed=seed,
        max_length=config.icl.max_length,
    )
    mtl_tasks = stratified_tasks(split.train_tasks, config.icl.mtl_tasks)
    mtl_len = prompt_lengths(
        tokenizer, mtl_tasks, [config.icl.mtl_encoding], instances="eval", seed=seed, max_length=config.icl.max_length
    )
    transfer = config.transfer
    ft_encodings = [transfer.encoding, *transfer.also_encodings]
    ft_train_len = prompt_lengths(
        tokenizer, split.held_out_tasks, ft_encodings, instances="train", seed=seed, max_length=transfer.max_length
    )
    ft_eval_len = prompt_lengths(
        tokenizer, split.held_out_tasks, ft_encodings, instances="eval", seed=seed, max_length=transfer.max_length
    )
    jobs = build_jobs(config, base)
    works = []
    for job in jobs:
        if job.stage == "tune":
            works.append(_tune_work(job.job_id, config, job.arm, tune_len, shape))
        elif job.stage == "eval":
            works.append(_eval_work(job.job_id, job.deps, config, split.held_out_tasks, mtl_tasks, icl_len, mtl_len))
        else:
            works.append(
                _transfer_work(job.job_id, job.deps, config, split.held_out_tasks, ft_train_len, ft_eval_len, shape)
            )
    return shape, works


def _tune_work(job_id: str, config: StudyConfig, arm_name: str, lengths: PromptLengths, shape: ModelShape) -> JobWork:
    # A Jacobian aggregator (UPGrad over task groups) back-propagates one loss per group, but
    # torchjd batches those backward passes; on the default study its tune jobs took 1.0-1.3x a
    # mean-aggregated arm's, within the load's noise, so its tokens count once, like any arm's.
    arm = next(a for a in config.arms if a.name == arm_name)
    t = config.tune
    examples = t.steps * t.batch_size
    replay = arm.replay
    replay_blocks = 0.0
    if replay.ratio > 0:
        replay_blocks = t.steps * t.batch_size * replay.ratio
        if replay.mode == "replace":
            examples = int(examples * (1 - replay.ratio))
    trained = examples * lengths.example + replay_blocks * replay.block_len
    logits = examples * lengths.target + replay_blocks * replay.block_len
    trained_params = shape.params if arm.lora is None else max(1, shape.params // 100)
    return JobWork(
        job_id,
        "tune",
        (),
        trained_tokens=trained,
        logit_tokens=logits,
        mean_length=lengths.example,
        trained_params=trained_params,
        micro_batch=t.micro_batch_size or t.batch_size,
        peak_length=t.data.max_length,
        bytes_per_activation=_bytes_per_activation(t.precision),
    )


def _eval_work(
    job_id: str,
    deps: tuple[str, ...],
    config: StudyConfig,
    held_out: Sequence[TaskSplit],
    mtl_tasks: Sequence[TaskSplit],
    icl: PromptLengths,
    mtl: PromptLengths,
) -> JobWork:
    forward = logits = generated = 0.0
    for splits, lengths, encodings, repeats in (
        (held_out, icl, config.icl.encodings, 1),
        (mtl_tasks, mtl, [config.icl.mtl_encoding], 1),
    ):
        for s in splits:
            n = len(s.eval)
            choices = len(s.task.labels) if s.task.labels else 1
            prefix_and_queries = lengths.prefix + n * lengths.query
            answer = n * lengths.target * choices
            gen = 0.0 if s.task.labels else n * (lengths.target + 1)
            forward += len(encodings) * repeats * (prefix_and_queries + answer)
            logits += len(encodings) * repeats * (answer + gen)
            generated += len(encodings) * repeats * gen
    fit = len(mtl_tasks) * config.icl.mtl_fit_instances * mtl.example
    return JobWork(
        job_id,
        "eval",
        deps,
        forward_tokens=forward + fit,
        logit_tokens=logits,
        generated_tokens=generated,
        mean_length=icl.example,
        micro_batch=config.icl.batch_size,
        peak_length=config.icl.max_length,
        bytes_per_activation=4,
    )


def _transfer_work(
    job_id: str,
    deps: tuple[str, ...],
    config: StudyConfig,
    held_out: Sequence[TaskSplit],
    train: PromptLengths,
    evaluation: PromptLengths,
    shape: ModelShape,
) -> JobWork:
    t = config.transfer
    encodings = 1 + len(t.also_encodings)
    trained = forward = logits = generated = 0.0
    for s in held_out:
        curve = [n for n in t.n if n > 0 and n <= len(s.train)]
        fine_tunes = len(curve) * t.repeats
        trained += sum(t.steps * min(n, t.batch_size) for n in curve) * t.repeats * train.example
        models = 1 + fine_tunes
        n_eval = len(s.eval)
        choices = len(s.task.labels) if s.task.labels else 1
        answer = n_eval * evaluation.target * choices
        gen = 0.0 if s.task.labels else n_eval * (evaluation.target + 1)
        forward += models * (n_eval * (evaluation.prefix + evaluation.query) + answer)
        logits += models * (answer + gen)
        generated += models * gen
    trained_params = shape.params if t.mode == "full" else max(1, shape.params // 100)
    return JobWork(
        job_id,
        "transfer",
        deps,
        trained_tokens=encodings * trained,
        forward_tokens=encodings * forward,
        logit_tokens=encodings * (logits + trained / max(train.example, 1) * train.target),
        generated_tokens=encodings * generated,
        mean_length=train.example,
        trained_params=trained_params,
        models_in_memory=min(t.grid_max_members, max(1, len(held_out))) if t.mode == "full" else 1,
        micro_batch=t.batch_size,
        peak_length=t.max_length,
        bytes_per_activation=_bytes_per_activation(t.precision),
        grid_memory_gib=t.grid_memory_gb,
    )


def planning_base(config: StudyConfig) -> ModelSpec:
    """The base model to price ``config`` with, never training one.

    A built-in preset is used where it is shipped with the package; any other built-in base
    would be pretrained by ``resolve_base``, which a cost estimate must not start.

    Raises:
        ConfigError: a built-in preset that is not shipped (pretrain it first).
    """
    preset = config.builtin_preset
    if preset is None:
        return config.base
    from instructmtl.models.builtin import METADATA_FILE
    from instructmtl.workflows.pretrain import shipped_dir

    folder = shipped_dir(preset)
    if not (folder / METADATA_FILE).is_file():
        raise ConfigError(
            f"base.name_or_path=builtin:{preset}: no shipped model to read its shape and tokenizer "
            f"from; run `instructmtl pretrain --preset {preset}` and plan with base.name_or_path "
            "set to its folder"
        )
    return config.base.model_copy(update={"name_or_path": str(folder)})


def estimate_config(config: StudyConfig, device: DeviceClass) -> StudyEstimate:
    """Prices ``config``'s whole study on ``device`` with the study's own workers (one per GPU job on a GPU)."""
    shape, works = study_work(config, planning_base(config))
    workers = config.executor.workers if device.name.startswith("cpu") else 1
    return estimate_study(works, shape, device, workers)


def estimate_fact(config: StudyConfig, base: ModelSpec, device: DeviceClass) -> dict[str, object]:
    """The study's cost estimate as the setup records it (fact ``cost.estimate``), for the report's appendix."""
    shape, works = study_work(config, base)
    estimate = estimate_study(works, shape, device, config.executor.workers)
    return {
        "device": device.as_dict(),
        "workers": estimate.workers,
        "stages": estimate.stage_totals(),
        "wall_seconds": estimate.wall_seconds,
    }
