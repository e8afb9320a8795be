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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import get_scheduler

from instructmtl import mtl
from instructmtl.config import config_hash, dump_yaml
from instructmtl.config.tasks import build_study_split
from instructmtl.corpus import build_source, packed_blocks
from instructmtl.errors import InstructMTLError, TrainingDivergedError
from instructmtl.models.checkpoint import save_checkpoint
from instructmtl.models.loading import load_model
from instructmtl.training.attention import use_fp32_attention_for_cpu_bf16
from instructmtl.tokenized.batches import MicroBatch, collate, length_grouped, lm_block_nll
from instructmtl.training.config import TuneConfig
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


def main(config: TuneConfig, run_dir: Path, progress: bool = True) -> TuneResult:
    """Runs (or resumes, or returns at once when finished) one instruction-tuning run."""
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(mixed_precision=resolve_precision(config.precision), log_with=config.trackers or None,
                              project_dir=str(run_dir))
    check_launch(accelerator)
    set_seed(config.seed)
    if config.trackers:
        accelerator.init_trackers(f"instructmtl-{config.arm.name}-seed{config.seed}")
    loaded = load_model(config.model)
    model, tokenizer = loaded.model, loaded.tokenizer
    _, study = build_study_split(config.tasks)
    data = build_instruction_data(study.train_tasks, config.data.encodings, tokenizer, config.data.max_length,
                                  config.arm.groups, config.seed)
    arm = config.arm
    sampler = mtl.build(mtl.SAMPLERS, arm.sampler.name, **arm.sampler.params)
    composer = mtl.build(mtl.BATCHING, arm.batching.name, **arm.batching.params)
    aggregator = mtl.build(mtl.AGGREGATORS, arm.aggregator.name, **arm.aggregator.params)
    weighting = mtl.build(mtl.WEIGHTINGS, arm.weighting.name, **arm.weighting.params)
    regularizer = mtl.build(mtl.REGULARIZERS, arm.regularizer.name, **arm.regularizer.params)
    plan = mtl.ReplayPlan(arm.replay.ratio, arm.replay.weight, arm.replay.mode)
    held_out_categories = {s.task.category for s in study.held_out_tasks}
    replay_source = (build_source(arm.replay.corpus_for(held_out_categories))
                     if (plan.ratio > 0 or regularizer.needs_fisher) else None)

    anchor = regularizer.make_anchor(model, _fisher_source(replay_source, tokenizer, arm, config.seed)
                                     if regularizer.needs_fisher else None)
    use_fp32_attention_for_cpu_bf16(model, accelerator.mixed_precision, accelerator.device)
    if arm.lora is not None:
        model = _with_lora(model, arm.lora)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    wstate = weighting.init_state(sorted(set(data.groups.values())), accelerator.device)
    optimizer = _optimizer(model, wstate.parameters(), config)
    scheduler = get_scheduler(config.optim.schedule, optimizer, num_warmup_steps=math.ceil(config.optim.warmup * config.steps),
                              num_training_steps=config.steps)
    model, optimizer = accelerator.prepare(model, optimizer)  # the scheduler steps once per optimizer step, unprepared
    params = [p for p in model.parameters() if p.requires_grad]

    state = TrainerState(config_hash=config_hash(config))
    saved = find_state(run_dir)
    if saved is not None:
        expected = state.config_hash
        state, extra_tensors = load_state(saved, accelerator.unwrap_model(model), optimizer, scheduler)
        if state.config_hash != expected:
            raise InstructMTLError(
                f"{run_dir}: holds a run of another config (hash {state.config_hash}, this one {expected}); "
                "choose another output directory, or delete that one to start over"
            )
        wstate.load_state_dict({k.removeprefix("weighting."): v for k, v in extra_tensors.items()
                                if k.startswith("weighting.")})
    if accelerator.is_main_process:
        (run_dir / "config.yaml").write_text(dump_yaml(config))
    replay = _replay_stream(replay_source, tokenizer, arm, config.seed, state.replay_blocks_used)
    log = _Log(run_dir / "log.jsonl", state.step, accelerator.is_main_process)
    checkpoint_steps = config.checkpoint_steps()
    padding = [0, 0]

    with _progress_bar(progress and accelerator.is_main_process) as bar:
        task_id = bar.add_task(f"tune {arm.name} seed {config.seed}", total=config.steps, completed=state.step)
        for step in range(state.step, config.steps):
            rng = np.random.default_rng([config.seed, step])
            n_inst, n_rep = plan.split_batch(config.batch_size, step)
            probs = _restrict_to_groups(sampler.probabilities(data.sizes(), step / config.steps), data, arm, rng)
            drawn = composer.compose(probs, n_inst, config.micro_batch_size, rng)
            composed = []
            for micro in drawn:
                examples = []
                for task in micro:  # one at a time: a task drawn twice gets its next example, not the same one
                    examples.append(data.take(task, state.task_counts.get(task, 0)))
                    state.task_counts[task] = state.task_counts.get(task, 0) + 1
                composed.append(examples)
            mine = _shard(composed, arm, accelerator)
            blocks = [next(replay) for _ in range(n_rep)] if n_rep else []
            state.replay_blocks_used += n_rep
            my_blocks = blocks[accelerator.process_index :: accelerator.num_processes]
            extras = Extras(
                torch.stack(my_blocks).to(accelerator.device) if my_blocks else None,
                plan.weight,
                (lambda: regularizer.penalty(accelerator.unwrap_model(model), anchor)) if arm.regularizer.name != "none" else None,
            )
            optimizer.zero_grad(set_to_none=True)
            pad_id = tokenizer.pad_token_id
            diagnostics = None
            if config.diagnostics_every and step % config.diagnostics_every == 0 and not arm.uses_groups:
                diagnostics = _diagnose(model, accelerator, [ex for mb in mine for ex in mb], config, pad_id, params)
            with accelerator.autocast():
                stats = _run_step(model, accelerator, mine, config, pad_id, extras, aggregator, weighting, wstate, params, step)
            stats.diagnostics = stats.diagnostics or diagnostics
            if not math.isfinite(stats.loss) or (stats.replay_loss is not None and not math.isfinite(stats.replay_loss)):
                last = max(state.checkpoints, key=int, default=None)
                where = state.checkpoints[last] if last else "none yet (the base model)"
                raise TrainingDivergedError(
                    f"{run_dir}: step {step}: loss is {stats.loss}; last good checkpoint: {where}; "
                    "lower optim.lr, enable optim.clip_norm or use precision fp32, then rerun to resume"
                )
            grad_norm = None
            if config.optim.clip_norm is not None:
                grad_norm = float(accelerator.clip_grad_norm_(params, config.optim.clip_norm))
            optimizer.step()
            scheduler.step()
            state.step = step + 1
            state.examples_seen += n_inst
            padding[0] += stats.padded_tokens - stats.real_tokens
            padding[1] += stats.padded_tokens
            row = _log_row(step, stats, scheduler.get_last_lr()[0], grad_norm, n_rep)
            log.write(row, step, config.log_every)
            if config.trackers:
                accelerator.log({k: v for k, v in row.items() if isinstance(v, float)}, step=state.step)
            if state.step in checkpoint_steps:
                path = run_dir / "checkpoints" / f"step-{state.step:06d}"
                if accelerator.is_main_process:
                    _save_merged(accelerator.unwrap_model(model), tokenizer, path, arm, config, state,
                                 data.drawn_instances(state.task_counts))
                state.checkpoints[str(state.step)] = str(path)
            if state.step in checkpoint_steps or state.step % config.state_every == 0 or state.step == config.steps:
                if accelerator.is_main_process:
                    save_state(run_dir, accelerator.unwrap_model(model), optimizer, scheduler,
                               {f"weighting.{k}": v for k, v in wstate.state_dict().items()}, state)
                accelerator.wait_for_everyone()
            bar.update(task_id, completed=state.step, description=f"tune {arm.name} seed {config.seed} loss {stats.loss:.3f}")

    result = TuneResult(
        run_dir=run_dir,
        checkpoints={int(k): Path(v) for k, v in state.checkpoints.items()},
        examples_seen=state.examples_seen,
        task_counts=dict(sorted(state.task_counts.items())),
        padding_fraction=padding[0] / padding[1] if padding[1] else 0.0,
        seconds=time.perf_counter() - started,
    )
    if accelerator.is_main_process:
        _write_summary(run_dir, result, data, probs_end=sampler.probabilities(data.sizes(), 1.0))
    accelerator.end_training()
    return result


def _shard(composed: list[list], arm, accelerator: Accelerator) -> list[list]:
    """This process's share of the step, as micro-batches.

    ``homogeneous`` micro-batches are kept whole (each stays single-task) and dealt
    out to processes; ``mixed`` steps are re-cut by length, which leaves the step's
    gradient unchanged (it is a sum over examples) and minimises padding.
    """
    rank, world = accelerator.process_index, accelerator.num_processes
    if arm.batching.name == "homogeneous":
        return composed[rank::world]
    flat = [ex for micro in composed for ex in micro]
    return [flat[rank::world]]


def _run_step(model, accelerator, mine, config, pad_id, extras, aggregator, weighting, wstate, params, step) -> StepStats:
    arm = config.arm
    examples = [ex for micro in mine for ex in micro]
    if not arm.uses_groups:
        if arm.batching.name == "homogeneous":
            micro_batches = [sorted(mb, key=lambda ex: len(ex.input_ids)) for mb in mine]
        else:
            micro_batches = length_grouped(examples, config.micro_batch_size)
        batches = [collate(mb, pad_id).to(accelerator.device) for mb in micro_batches]
        return plain_step(model, accelerator, batches, extras)
    by_group = _batches_by_group(examples, config.micro_batch_size, pad_id, accelerator.device)
    if arm.aggregator.name != "mean":
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        return aggregated_step(model, accelerator, by_group, aggregator, params, extras, generator)
    return weighted_step(model, accelerator, by_group, weighting, wstate, extras)


def _batches_by_group(examples, micro_batch_size: int, pad_id: int, device) -> dict[str, list[MicroBatch]]:
    grouped: dict[str, list] = {}
    for ex in examples:
        grouped.setdefault(ex.group, []).append(ex)
    return {g: [collate(mb, pad_id).to(device) for mb in length_grouped(items, micro_batch_size)]
            for g, items in sorted(grouped.items())}


def _diagnose(model, accelerator, examples, config, pad_id, params) -> mtl.ConflictDiagnostics | None:
    """Gradient conflict between the step's task groups, measured with extra backward passes."""
    by_group = _batches_by_group(examples, config.micro_batch_size, pad_id, accelerator.device)
    if len(by_group) < 2:
        return None
    with accelerator.autocast():
        jacobian = group_gradients(model, accelerator, by_group, params, StepStats())
    with torch.autocast(device_type=jacobian.device.type, enabled=False):
        return mtl.gradient_conflict(jacobian)


def _restrict_to_groups(probs: dict[str, float], data: InstructionData, arm, rng: np.random.Generator) -> dict[str, float]:
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


def _optimizer(model, extra_params, config: TuneConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.optim.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if extra_params:
        groups.append({"params": list(extra_params), "weight_decay": 0.0})
    # fused: one kernel for the whole update (about 6x faster steps on CPU as well as GPU)
    return torch.optim.AdamW(groups, lr=config.optim.lr, betas=config.optim.betas, fused=True)


def _with_lora(model, lora):
    from peft import LoraConfig as PeftLoraConfig, get_peft_model

    return get_peft_model(model, PeftLoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                target_modules=lora.target_modules, task_type="CAUSAL_LM"))


def _save_merged(model, tokenizer, path: Path, arm, config: TuneConfig, state: TrainerState,
                 drawn: dict[str, list[str]]) -> None:
    """Saves an ordinary HF checkpoint; a LoRA arm is merged into full weights first (on a copy).

    The metadata records which instances the checkpoint was trained on (``drawn``), so MTL fit
    is measured on instances actually drawn in training, never on ones the run skipped.
    """
    if arm.lora is not None:
        model = copy.deepcopy(model).merge_and_unload()
    metadata = {"arm": arm.name, "seed": config.seed, "step": state.step, "examples_seen": state.examples_seen,
                "task_counts": dict(sorted(state.task_counts.items())), "config_hash": state.config_hash,
                "drawn_instances": drawn}
    was_training = model.training
    model.eval()
    save_checkpoint(model, tokenizer, path, metadata)
    model.train(was_training)


FISHER_BATCH_BLOCKS = 4


def _fisher_source(source, tokenizer, arm, seed: int) -> mtl.FisherSource:
    """Corpus batches for EWC's Fisher: an endless stream; the regularizer takes as many as it needs."""
    stream = packed_blocks(source, tokenizer, arm.replay.block_len, seed + 7919)
    batches = (torch.stack([next(stream) for _ in range(FISHER_BATCH_BLOCKS)]) for _ in iter(int, 1))
    return mtl.FisherSource(batches, _mean_lm_loss)


def _mean_lm_loss(model, batch: torch.Tensor) -> torch.Tensor:
    nll, n = lm_block_nll(model, batch)
    return nll / n


def _replay_stream(source, tokenizer, arm, seed: int, skip: int):
    if source is None:
        return iter(())
    stream = packed_blocks(source, tokenizer, arm.replay.block_len, seed)
    for _ in range(skip):
        next(stream)
    return stream


def _log_row(step: int, stats: StepStats, lr: float, grad_norm: float | None, n_replay: int) -> dict:
    row = {
        # loss: every target token (what is optimized); content_loss leaves the end-of-target
        # marker out, the token set of every evaluation NLL; marker_loss is the marker alone
        "step": step + 1, "loss": stats.loss, "content_loss": stats.content_loss(),
        "marker_loss": stats.marker_loss(), "lr": lr, "grad_norm": grad_norm,
        "real_tokens": stats.real_tokens, "padded_tokens": stats.padded_tokens,
        "task_loss": {t: v[0] / v[1] for t, v in sorted(stats.task_nll.items()) if v[1]},
        "replay_examples": n_replay, "replay_loss": stats.replay_loss, "penalty": stats.penalty,
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

    def write(self, row: dict, step: int, every: int) -> None:
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
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeRemainingColumn(), disable=not enabled, transient=False)
