"""Instruction-tune a base model with one arm (a combination of MTL strategies): ``instructmtl tune``.

setup: model, tasks, tokenized instruction data, strategies, optimizer, resume
→ run: one optimizer step at a time (sample tasks, compose batches, forward /
backward on the plain or grouped path, replay and regularizer on top, clip,
step) → save: checkpoints at the configured steps and the resumable state →
cleanup: the run summary.

Every step's randomness comes from a generator seeded by (seed, step) and the
data position is the count of examples drawn per task, so a run killed at any
point and started again ends with the same weights (see training/state.py).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch.optim.lr_scheduler import LRScheduler
from transformers import PreTrainedTokenizerBase, get_scheduler

from instructmtl import mtl
from instructmtl.config import config_hash, dump_yaml
from instructmtl.config.tasks import build_study_split
from instructmtl.corpus import CorpusSource, build_source, packed_blocks
from instructmtl.errors import InstructMTLError, TrainingDivergedError
from instructmtl.models.checkpoint import save_checkpoint
from instructmtl.models.loading import load_model
from instructmtl.tasks.selection import StudySplit
from instructmtl.tokenized.batches import MicroBatch, collate, length_grouped, lm_block_nll
from instructmtl.tokenized.examples import TrainExample
from instructmtl.training.attention import use_fp32_attention_for_cpu_bf16
from instructmtl.training.config import ArmConfig, LoraConfig, TuneConfig
from instructmtl.training.data import InstructionData, build_instruction_data
from instructmtl.training.distributed import check_launch
from instructmtl.training.precision import resolve_precision
from instructmtl.training.state import TrainerState, find_state, load_state, save_state
from instructmtl.training.step import Extras, StepStats, aggregated_step, group_gradients, plain_step, weighted_step


@dataclass(frozen=True)
class TuneResult:
    """Where a finished run left its outputs."""

    run_dir: Path
    checkpoints: dict[int, Path]
    examples_seen: int
    task_counts: dict[str, int]
    padding_fraction: float
    seconds: float


@dataclass(frozen=True)
class _Strategies:
    """The arm's strategies, built once from their registered names."""

    sampler: mtl.TaskSampler
    composer: mtl.BatchComposer
    aggregator: mtl.JacobianAggregator
    weighting: mtl.LossWeighting
    regularizer: mtl.Regularizer
    replay: mtl.ReplayPlan


@dataclass(frozen=True)
class _Trainee:
    """The prepared model and what updates it: optimizer, scheduler and the loss weighting's learned state."""

    accelerator: Accelerator
    model: torch.nn.Module
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler
    weighting_state: mtl.WeightingState


@dataclass(frozen=True)
class _Layout:
    """How a step's examples become forward / backward passes, read once from the arm and the config.

    Attributes:
        homogeneous: micro-batches are single-task and kept whole (``homogeneous`` batching).
        grouped: the step is split into task groups (for an aggregator or a loss weighting).
        aggregated: the groups' gradients go through a gradient aggregator (not ``mean``).
        micro_batch_size: examples per forward pass.
        pad_id: the tokenizer's padding id.
        seed: the run's seed (the aggregator's generator is seeded by it and the step).
    """

    homogeneous: bool
    grouped: bool
    aggregated: bool
    micro_batch_size: int
    pad_id: int
    seed: int


@dataclass(frozen=True)
class _Run:
    """Everything a step reads that stays fixed for the run."""

    config: TuneConfig
    run_dir: Path
    data: InstructionData
    tokenizer: PreTrainedTokenizerBase
    strategies: _Strategies
    anchor: mtl.Anchor
    trainee: _Trainee
    layout: _Layout


@dataclass(frozen=True)
class _StepBatch:
    """One step's draw as this process trains it.

    Attributes:
        micro_batches: this process's share of the instruction examples.
        n_instructions: instruction examples of the whole step (all processes).
        n_replay: replay blocks of the whole step.
        extras: this process's replay blocks and the regularizer penalty, added on top.
    """

    micro_batches: list[list[TrainExample]]
    n_instructions: int
    n_replay: int
    extras: Extras


@dataclass
class _Padding:
    """Padding tokens against all tokens of the steps run in this call (for the summary)."""

    padding: int = 0
    total: int = 0

    def add(self, stats: StepStats) -> None:
        self.padding += stats.padded_tokens - stats.real_tokens
        self.total += stats.padded_tokens

    def fraction(self) -> float:
        return self.padding / self.total if self.total else 0.0


def main(config: TuneConfig, run_dir: Path, progress: bool = True) -> TuneResult:
    """Runs (or resumes, or returns at once when finished) one instruction-tuning run.

    Raises:
        InstructMTLError: ``run_dir`` holds the state of a run of another config.
        TrainingDivergedError: a step's loss is not finite.
    """
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    accelerator = _start_accelerator(config, run_dir)
    loaded = load_model(config.model)
    _, study = build_study_split(config.tasks)
    data = build_instruction_data(
        study.train_tasks,
        config.data.encodings,
        loaded.tokenizer,
        config.data.max_length,
        config.arm.groups,
        config.seed,
    )
    strategies = _build_strategies(config.arm)
    replay_source = _replay_source(config.arm, strategies, study)
    anchor = _make_anchor(loaded.model, loaded.tokenizer, strategies.regularizer, replay_source, config)
    trainee = _prepare(loaded.model, accelerator, config, strategies.weighting, data)
    state = _resume(run_dir, trainee, config)
    if accelerator.is_main_process:
        (run_dir / "config.yaml").write_text(dump_yaml(config))
    run = _Run(
        config,
        run_dir,
        data,
        loaded.tokenizer,
        strategies,
        anchor,
        trainee,
        _layout(config, loaded.tokenizer.pad_token_id),
    )

    replay = _replay_stream(replay_source, loaded.tokenizer, config.arm, config.seed, state.replay_blocks_used)
    log = _Log(run_dir / "log.jsonl", state.step, accelerator.is_main_process)
    padding = _train(run, state, replay, log, progress and accelerator.is_main_process)

    result = TuneResult(
        run_dir=run_dir,
        checkpoints={int(k): Path(v) for k, v in state.checkpoints.items()},
        examples_seen=state.examples_seen,
        task_counts=dict(sorted(state.task_counts.items())),
        padding_fraction=padding.fraction(),
        seconds=time.perf_counter() - started,
    )
    if accelerator.is_main_process:
        _write_summary(run_dir, result, data, probs_end=strategies.sampler.probabilities(data.sizes(), 1.0))
    accelerator.end_training()
    return result


# ---- setup ----------------------------------------------------------------------------------------


def _start_accelerator(config: TuneConfig, run_dir: Path) -> Accelerator:
    """The accelerator (precision, trackers), with the launch checked and the global seed set."""
    accelerator = Accelerator(
        mixed_precision=resolve_precision(config.precision), log_with=config.trackers or None, project_dir=str(run_dir)
    )
    check_launch(accelerator)
    set_seed(config.seed)
    if config.trackers:
        accelerator.init_trackers(f"instructmtl-{config.arm.name}-seed{config.seed}")
    return accelerator


def _build_strategies(arm: ArmConfig) -> _Strategies:
    return _Strategies(
        sampler=mtl.build(mtl.SAMPLERS, arm.sampler.name, **arm.sampler.params),
        composer=mtl.build(mtl.BATCHING, arm.batching.name, **arm.batching.params),
        aggregator=mtl.build(mtl.AGGREGATORS, arm.aggregator.name, **arm.aggregator.params),
        weighting=mtl.build(mtl.WEIGHTINGS, arm.weighting.name, **arm.weighting.params),
        regularizer=mtl.build(mtl.REGULARIZERS, arm.regularizer.name, **arm.regularizer.params),
        replay=mtl.ReplayPlan(arm.replay.ratio, arm.replay.weight, arm.replay.mode),
    )


def _replay_source(arm: ArmConfig, strategies: _Strategies, study: StudySplit) -> CorpusSource | None:
    """The corpus replayed and (for EWC) behind the Fisher; None when the arm needs neither."""
    if not (strategies.replay.ratio > 0 or strategies.regularizer.needs_fisher):
        return None
    held_out_categories = {s.task.category for s in study.held_out_tasks}
    return build_source(arm.replay.corpus_for(held_out_categories))


def _make_anchor(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    regularizer: mtl.Regularizer,
    source: CorpusSource | None,
    config: TuneConfig,
) -> mtl.Anchor:
    """The regularizer's anchor, made from the base model before any step.

    A resumed run makes it again here: the base weights and the Fisher's corpus batches
    (seeded by the run's seed) are the same, so the anchor is too.
    """
    fisher = _fisher_source(source, tokenizer, config.arm, config.seed) if regularizer.needs_fisher else None
    return regularizer.make_anchor(model, fisher)


def _prepare(
    model: torch.nn.Module,
    accelerator: Accelerator,
    config: TuneConfig,
    weighting: mtl.LossWeighting,
    data: InstructionData,
) -> _Trainee:
    """The model made trainable (attention precision, LoRA, checkpointing) with its optimizer and scheduler."""
    use_fp32_attention_for_cpu_bf16(model, accelerator.mixed_precision, accelerator.device)
    if config.arm.lora is not None:
        model = _with_lora(model, config.arm.lora)
    if config.gradient_checkpointing:
        # a PreTrainedModel or its peft wrapper; nn.Module's __getattr__ typing hides the method
        model.gradient_checkpointing_enable()  # type: ignore[operator]
    model.train()
    weighting_state = weighting.init_state(sorted(set(data.groups.values())), accelerator.device)
    optimizer = _optimizer(model, weighting_state.parameters(), config)
    scheduler = get_scheduler(
        config.optim.schedule,
        optimizer,
        num_warmup_steps=math.ceil(config.optim.warmup * config.steps),
        num_training_steps=config.steps,
    )
    model, optimizer = accelerator.prepare(model, optimizer)  # the scheduler steps once per optimizer step, unprepared
    params = [p for p in model.parameters() if p.requires_grad]
    return _Trainee(accelerator, model, params, optimizer, scheduler, weighting_state)


def _resume(run_dir: Path, trainee: _Trainee, config: TuneConfig) -> TrainerState:
    """A fresh state, or the saved one loaded into the model, optimizer, scheduler and weighting state."""
    state = TrainerState(config_hash=config_hash(config))
    saved = find_state(run_dir)
    if saved is None:
        return state
    expected = state.config_hash
    model = trainee.accelerator.unwrap_model(trainee.model)
    state, extra_tensors = load_state(saved, model, trainee.optimizer, trainee.scheduler)
    if state.config_hash != expected:
        raise InstructMTLError(
            f"{run_dir}: holds a run of another config (hash {state.config_hash}, this one {expected}); "
            "choose another output directory, or delete that one to start over"
        )
    trainee.weighting_state.load_state_dict(
        {k.removeprefix("weighting."): v for k, v in extra_tensors.items() if k.startswith("weighting.")}
    )
    return state


def _layout(config: TuneConfig, pad_id: int) -> _Layout:
    arm = config.arm
    return _Layout(
        homogeneous=arm.batching.name == "homogeneous",
        grouped=arm.uses_groups,
        aggregated=arm.aggregator.name != "mean",
        micro_batch_size=config.micro_batch_size,
        pad_id=pad_id,
        seed=config.seed,
    )


# ---- run ------------------------------------------------------------------------------------------


def _train(run: _Run, state: TrainerState, replay: Iterator[torch.Tensor], log: _Log, progress: bool) -> _Padding:
    """Runs the steps from ``state.step`` to the end, logging each and saving at the configured steps."""
    config = run.config
    padding = _Padding()
    title = f"tune {config.arm.name} seed {config.seed}"
    with _progress_bar(progress) as bar:
        task_id = bar.add_task(title, total=config.steps, completed=state.step)
        for step in range(state.step, config.steps):
            stats, row = _train_step(run, state, replay, step)
            padding.add(stats)
            log.write(row, step, config.log_every)
            if config.trackers:
                run.trainee.accelerator.log({k: v for k, v in row.items() if isinstance(v, float)}, step=state.step)
            _save(run, state)
            bar.update(task_id, completed=state.step, description=f"{title} loss {stats.loss:.3f}")
    return padding


def _train_step(
    run: _Run, state: TrainerState, replay: Iterator[torch.Tensor], step: int
) -> tuple[StepStats, dict[str, object]]:
    """Draws, runs and applies one optimizer step; returns what it measured and its log row."""
    config, trainee = run.config, run.trainee
    batch = _draw_step(run, state, replay, step)
    trainee.optimizer.zero_grad(set_to_none=True)
    diagnostics = None
    if config.diagnostics_every and step % config.diagnostics_every == 0 and not run.layout.grouped:
        diagnostics = _diagnose(trainee, run.layout, [ex for mb in batch.micro_batches for ex in mb])
    with trainee.accelerator.autocast():
        stats = _run_step(trainee, run.strategies, run.layout, batch, step)
    stats.diagnostics = stats.diagnostics or diagnostics
    _stop_if_diverged(stats, state, step, run.run_dir)
    grad_norm = None
    if config.optim.clip_norm is not None:
        grad_norm = float(trainee.accelerator.clip_grad_norm_(trainee.params, config.optim.clip_norm))
    trainee.optimizer.step()
    trainee.scheduler.step()
    state.step = step + 1
    state.examples_seen += batch.n_instructions
    return stats, _log_row(step, stats, float(trainee.scheduler.get_last_lr()[0]), grad_norm, batch.n_replay)


def _draw_step(run: _Run, state: TrainerState, replay: Iterator[torch.Tensor], step: int) -> _StepBatch:
    """The step's tasks, examples and replay blocks; advances the data position in ``state``."""
    config, strategies, accelerator = run.config, run.strategies, run.trainee.accelerator
    rng = np.random.default_rng([config.seed, step])
    n_instructions, n_replay = strategies.replay.split_batch(config.batch_size, step)
    probs = strategies.sampler.probabilities(run.data.sizes(), step / config.steps)
    probs = _restrict_to_groups(probs, run.data, config.arm, rng)
    drawn = strategies.composer.compose(probs, n_instructions, config.micro_batch_size, rng)
    composed = [_take(run.data, tasks, state.task_counts) for tasks in drawn]
    mine = _shard(composed, run.layout.homogeneous, accelerator)
    blocks = [next(replay) for _ in range(n_replay)] if n_replay else []
    state.replay_blocks_used += n_replay
    my_blocks = blocks[accelerator.process_index :: accelerator.num_processes]
    extras = Extras(
        torch.stack(my_blocks).to(accelerator.device) if my_blocks else None,
        strategies.replay.weight,
        _penalty(run) if config.arm.regularizer.name != "none" else None,
    )
    return _StepBatch(mine, n_instructions, n_replay, extras)


def _take(data: InstructionData, tasks: list[str], task_counts: dict[str, int]) -> list[TrainExample]:
    """The next example of each task in ``tasks``, counting each draw in ``task_counts``."""
    examples = []
    for task in tasks:  # one at a time: a task drawn twice gets its next example, not the same one
        examples.append(data.take(task, task_counts.get(task, 0)))
        task_counts[task] = task_counts.get(task, 0) + 1
    return examples


def _penalty(run: _Run) -> Callable[[], torch.Tensor]:
    model, accelerator = run.trainee.model, run.trainee.accelerator
    return lambda: run.strategies.regularizer.penalty(accelerator.unwrap_model(model), run.anchor)


def _shard(composed: list[list[TrainExample]], homogeneous: bool, accelerator: Accelerator) -> list[list[TrainExample]]:
    """This process's share of the step, as micro-batches.

    ``homogeneous`` micro-batches are kept whole (each stays single-task) and dealt
    out to processes; ``mixed`` steps are re-cut by length, which leaves the step's
    gradient unchanged (it is a sum over examples) and minimises padding.
    """
    rank, world = accelerator.process_index, accelerator.num_processes
    if homogeneous:
        return composed[rank::world]
    flat = [ex for micro in composed for ex in micro]
    return [flat[rank::world]]


def _run_step(trainee: _Trainee, strategies: _Strategies, layout: _Layout, batch: _StepBatch, step: int) -> StepStats:
    """Forward and backward of the step's examples on the plain, weighted or aggregated path."""
    examples = [ex for micro in batch.micro_batches for ex in micro]
    device = trainee.accelerator.device
    if not layout.grouped:
        if layout.homogeneous:
            micro_batches = [sorted(mb, key=lambda ex: len(ex.input_ids)) for mb in batch.micro_batches]
        else:
            micro_batches = length_grouped(examples, layout.micro_batch_size)
        batches = [collate(mb, layout.pad_id).to(device) for mb in micro_batches]
        return plain_step(trainee.model, trainee.accelerator, batches, batch.extras)
    by_group = _batches_by_group(examples, layout.micro_batch_size, layout.pad_id, device)
    if layout.aggregated:
        generator = torch.Generator().manual_seed(layout.seed * 1_000_003 + step)
        return aggregated_step(
            trainee.model, trainee.accelerator, by_group, strategies.aggregator, trainee.params, batch.extras, generator
        )
    return weighted_step(
        trainee.model, trainee.accelerator, by_group, strategies.weighting, trainee.weighting_state, batch.extras
    )


def _batches_by_group(
    examples: list[TrainExample], micro_batch_size: int, pad_id: int, device: torch.device
) -> dict[str, list[MicroBatch]]:
    grouped: dict[str, list[TrainExample]] = {}
    for ex in examples:
        grouped.setdefault(ex.group, []).append(ex)
    return {
        g: [collate(mb, pad_id).to(device) for mb in length_grouped(items, micro_batch_size)]
        for g, items in sorted(grouped.items())
    }


def _diagnose(trainee: _Trainee, layout: _Layout, examples: list[TrainExample]) -> mtl.ConflictDiagnostics | None:
    """Gradient conflict between the step's task groups, measured with extra backward passes."""
    by_group = _batches_by_group(examples, layout.micro_batch_size, layout.pad_id, trainee.accelerator.device)
    if len(by_group) < 2:
        return None
    with trainee.accelerator.autocast():
        jacobian = group_gradients(trainee.model, trainee.accelerator, by_group, trainee.params, StepStats())
    with torch.autocast(device_type=jacobian.device.type, enabled=False):
        return mtl.gradient_conflict(jacobian)


def _stop_if_diverged(stats: StepStats, state: TrainerState, step: int, run_dir: Path) -> None:
    """Raises TrainingDivergedError, naming the last good checkpoint, when the step's loss is not finite."""
    if math.isfinite(stats.loss) and (stats.replay_loss is None or math.isfinite(stats.replay_loss)):
        return
    last = max(state.checkpoints, key=int, default=None)
    where = state.checkpoints[last] if last else "none yet (the base model)"
    raise TrainingDivergedError(
        f"{run_dir}: step {step}: loss is {stats.loss}; last good checkpoint: {where}; "
        "lower optim.lr, enable optim.clip_norm or use precision fp32, then rerun to resume"
    )


# ---- save -----------------------------------------------------------------------------------------


def _save(run: _Run, state: TrainerState) -> None:
    """After a step: the checkpoint at a checkpoint step, the resumable state at those and every ``state_every``."""
    config, trainee = run.config, run.trainee
    accelerator = trainee.accelerator
    checkpoint_steps = config.checkpoint_steps()
    if state.step in checkpoint_steps:
        path = run.run_dir / "checkpoints" / f"step-{state.step:06d}"
        if accelerator.is_main_process:
            _save_merged(
                accelerator.unwrap_model(trainee.model),
                run.tokenizer,
                path,
                config,
                state,
                run.data.drawn_instances(state.task_counts),
            )
        state.checkpoints[str(state.step)] = str(path)
    if state.step in checkpoint_steps or state.step % config.state_every == 0 or state.step == config.steps:
        if accelerator.is_main_process:
            extras = {f"weighting.{k}": v for k, v in trainee.weighting_state.state_dict().items()}
            save_state(
                run.run_dir,
                accelerator.unwrap_model(trainee.model),
                trainee.optimizer,
                trainee.scheduler,
                extras,
                state,
            )
        accelerator.wait_for_everyone()


def _restrict_to_groups(
    probs: dict[str, float], data: InstructionData, arm: ArmConfig, rng: np.random.Generator
) -> dict[str, float]:
    """For grouped arms with ``groups_per_step``: sample that many groups (by their total probability) and
    renormalise within them. This changes which tasks a step mixes, so an arm that sets it differs from
    the baseline in its sampling as well as in its aggregator."""
    if not arm.uses_groups:
        return probs
    mass: dict[str, float] = {}
    for task, p in probs.items():
        mass[data.groups[task]] = mass.get(data.groups[task], 0.0) + p
    names = sorted(g for g, m in mass.items() if m > 0)
    if arm.groups_per_step is None or arm.groups_per_step >= len(names):
        return probs  # every group takes part: the step's mix is the sampler's alone
    k = arm.groups_per_step
    weights = np.array([mass[g] for g in names])
    chosen = set(rng.choice(len(names), size=k, replace=False, p=weights / weights.sum()).tolist())
    keep = {t: p for t, p in probs.items() if names.index(data.groups[t]) in chosen and p > 0} if names else probs
    total = sum(keep.values())
    return {t: p / total for t, p in keep.items()}


def _optimizer(
    model: torch.nn.Module, extra_params: Sequence[torch.Tensor], config: TuneConfig
) -> torch.optim.Optimizer:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if extra_params:
        groups.append({"params": list(extra_params), "weight_decay": 0.0})
    # fused: one kernel for the whole update (about 6x faster steps on CPU as well as GPU)
    return torch.optim.AdamW(groups, lr=config.optim.lr, betas=config.optim.betas, fused=True)


def _with_lora(model: torch.nn.Module, lora: LoraConfig) -> torch.nn.Module:
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    return get_peft_model(
        model,
        PeftLoraConfig(
            r=lora.rank,
            lora_alpha=lora.alpha,  # type: ignore[arg-type]  # peft: int, any number scales
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
        ),
    )


def _save_merged(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    path: Path,
    config: TuneConfig,
    state: TrainerState,
    drawn: dict[str, list[str]],
) -> None:
    """Saves an ordinary HF checkpoint; a LoRA arm is merged into full weights first (on a copy).

    The metadata records which instances the checkpoint was trained on (``drawn``), so MTL fit
    is measured on instances actually drawn in training, never on ones the run skipped.
    """
    if config.arm.lora is not None:
        model = copy.deepcopy(model).merge_and_unload()  # type: ignore[operator]  # a peft model (_with_lora)
    metadata = {
        "arm": config.arm.name,
        "seed": config.seed,
        "step": state.step,
        "examples_seen": state.examples_seen,
        "task_counts": dict(sorted(state.task_counts.items())),
        "config_hash": state.config_hash,
        "drawn_instances": drawn,
    }
    was_training = model.training
    model.eval()
    save_checkpoint(model, tokenizer, path, metadata)  # type: ignore[arg-type]  # a PreTrainedModel, merged above
    model.train(was_training)


FISHER_BATCH_BLOCKS = 4


def _fisher_source(
    source: CorpusSource | None, tokenizer: PreTrainedTokenizerBase, arm: ArmConfig, seed: int
) -> mtl.FisherSource:
    """Corpus batches for EWC's Fisher: an endless stream; the regularizer takes as many as it needs."""
    assert source is not None, "_replay_source builds a corpus whenever the regularizer needs the Fisher"
    stream = packed_blocks(source, tokenizer, arm.replay.block_len, seed + 7919)
    batches = (torch.stack([next(stream) for _ in range(FISHER_BATCH_BLOCKS)]) for _ in iter(int, 1))
    return mtl.FisherSource(batches, _mean_lm_loss)


def _mean_lm_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    nll, n = lm_block_nll(model, batch)
    return nll / n


def _replay_stream(
    source: CorpusSource | None, tokenizer: PreTrainedTokenizerBase, arm: ArmConfig, seed: int, skip: int
) -> Iterator[torch.Tensor]:
    if source is None:
        return iter(())
    stream = packed_blocks(source, tokenizer, arm.replay.block_len, seed)
    for _ in range(skip):
        next(stream)
    return stream


def _log_row(step: int, stats: StepStats, lr: float, grad_norm: float | None, n_replay: int) -> dict[str, object]:
    row: dict[str, object] = {
        # loss: every target token (what is optimized); content_loss leaves the end-of-target
        # marker out, the token set of every evaluation NLL; marker_loss is the marker alone
        "step": step + 1,
        "loss": stats.loss,
        "content_loss": stats.content_loss(),
        "marker_loss": stats.marker_loss(),
        "lr": lr,
        "grad_norm": grad_norm,
        "real_tokens": stats.real_tokens,
        "padded_tokens": stats.padded_tokens,
        "task_loss": {t: v[0] / v[1] for t, v in sorted(stats.task_nll.items()) if v[1]},
        "replay_examples": n_replay,
        "replay_loss": stats.replay_loss,
        "penalty": stats.penalty,
    }
    if stats.diagnostics is not None:
        row["conflict"] = asdict(stats.diagnostics)
    return row


class _Log:
    """Append-only JSONL log; on resume, lines past the resumed step are dropped so none is doubled."""

    def __init__(self, path: Path, resumed_step: int, enabled: bool) -> None:
        self.path, self.enabled = path, enabled
        if enabled and path.exists():
            kept = [line for line in path.read_text().splitlines() if json.loads(line)["step"] <= resumed_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, row: dict[str, object], step: int, every: int) -> None:
        if self.enabled and ((step + 1) % every == 0 or row.get("conflict") is not None or step == 0):
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")


def _write_summary(run_dir: Path, result: TuneResult, data: InstructionData, probs_end: dict[str, float]) -> None:
    summary = {
        "examples_seen": result.examples_seen,
        "task_counts": result.task_counts,
        "checkpoints": {str(k): str(v) for k, v in sorted(result.checkpoints.items())},
        "padding_fraction": result.padding_fraction,
        "prompts_fitted": data.fit_report.prompts_changed if data.fit_report else 0,
        "final_probabilities": probs_end,
    }
    tmp = run_dir / ".run.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True))
    tmp.replace(run_dir / "run.json")


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
