"""One few-shot fine-tune at a time: the reference the batched grid must equal, and the LoRA path.

A fine-tune trains a copy of a checkpoint for ``config.steps`` AdamW steps on
the first ``n`` train instances of a task, ``min(n, batch_size)`` per step,
cycling in :func:`~instructmtl.evaluation.finetune_data.cycle_order`; the
loss is the mean NLL over the target tokens of the step (the training
library's :func:`~instructmtl.tokenized.batches.collate` and
:func:`~instructmtl.tokenized.batches.per_example_nll`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from instructmtl.errors import TrainingDivergedError
from instructmtl.evaluation.finetune_config import FinetuneConfig, LoraSettings
from instructmtl.evaluation.finetune_data import FewShotTask, cycle_order, step_indices
from instructmtl.tokenized.batches import collate, per_example_nll

__all__ = ["Finetuned", "adamw", "autocast", "check_finite", "finetune_one", "is_decayed"]


@dataclass(frozen=True)
class Finetuned:
    """A fine-tuned model and its training-loss curve.

    Attributes:
        model: the tuned copy, in eval mode (LoRA adapters merged into the weights).
        losses: the mean target NLL of each step's batch, before that step's update.
    """

    model: PreTrainedModel
    losses: tuple[float, ...]


def is_decayed(name: str, shape: Sequence[int]) -> bool:
    """Whether AdamW decays a parameter: matrices yes, norms, biases and vectors no (as in tuning)."""
    return len(shape) >= 2 and "norm" not in name


def adamw(
    named: Sequence[tuple[str, torch.Tensor]], config: FinetuneConfig, leading_dims: int = 0
) -> torch.optim.AdamW:
    """AdamW over ``named`` parameters with decay on matrices only.

    Args:
        named: (name, tensor) pairs to optimise.
        config: lr, betas, weight decay.
        leading_dims: dimensions in front of each parameter's own shape (1 for the
            grid's stacked tensors), ignored when deciding what to decay.
    """
    decay = [p for name, p in named if is_decayed(name, p.shape[leading_dims:])]
    rest = [p for name, p in named if not is_decayed(name, p.shape[leading_dims:])]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    # fused: one elementwise pass per step (several times faster than foreach on CPU), and the
    # same kernel for a stacked tensor as for one model, so the grid stays equal to one by one
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr, betas=config.betas, fused=True)


def autocast(config: FinetuneConfig, device: torch.device) -> torch.autocast:
    """bf16 autocast for ``precision: bf16``; a disabled context (plain fp32) otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")


def check_finite(loss: float, what: str, step: int) -> None:
    """Stops a fine-tune whose loss became NaN or infinite.

    Raises:
        TrainingDivergedError: naming the fine-tune, the step and the fix.
    """
    if not math.isfinite(loss):
        raise TrainingDivergedError(
            f"fine-tune {what}: step {step}: loss is {loss}; lower the fine-tuning lr or use precision fp32"
        )


def with_lora(model: PreTrainedModel, lora: LoraSettings, seed: int) -> PreTrainedModel:
    """Wraps ``model`` with fresh adapters, initialised from ``seed`` without touching the global RNG."""
    from peft import LoraConfig, get_peft_model  # peft is imported only by the LoRA path

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        peft_config = LoraConfig(
            r=lora.rank,
            lora_alpha=lora.alpha,  # type: ignore[arg-type]  # peft annotates lora_alpha as int; any positive number scales
            lora_dropout=0.0,
            target_modules=list(lora.targets) if lora.targets else None,
            task_type="CAUSAL_LM",
        )
        # the peft wrapper forwards every PreTrainedModel attribute the fine-tune uses
        return get_peft_model(model, peft_config)  # type: ignore[return-value]


def finetune_one(
    model: PreTrainedModel, task: FewShotTask, n: int, seed: int, config: FinetuneConfig, pad_id: int
) -> Finetuned:
    """Fine-tunes a copy of ``model`` on the first ``n`` train instances of ``task``.

    Args:
        model: the checkpoint (left untouched).
        task: the task's tokenized few-shot set.
        n: training instances, ``1 <= n <= task.available``.
        seed: fixes the cycling order (and the LoRA initialisation).
        config: steps, batch size, optimizer, mode, precision.
        pad_id: the tokenizer's pad id.

    Returns:
        The tuned copy and its loss curve.

    Raises:
        ValueError: ``n`` is outside ``[1, task.available]``.
        TrainingDivergedError: the loss became NaN or infinite.
    """
    if not 1 <= n <= task.available:
        raise ValueError(f"task '{task.name}': n={n} is outside [1, {task.available}]")
    tuned = copy.deepcopy(model)
    if config.mode == "lora":
        tuned = with_lora(tuned, config.lora, seed)
    named = [(name, p) for name, p in tuned.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    optimizer = adamw(named, config)
    order, rows, device = cycle_order(task.name, n, seed), config.rows(n), tuned.device
    losses = []
    tuned.train()
    for step in range(config.steps):
        batch = collate([task.train[i] for i in step_indices(order, rows, step)], pad_id).to(device)
        with autocast(config, device):
            nll, counts, _ = per_example_nll(tuned, batch)
        loss = nll.sum() / counts.sum()
        losses.append(float(loss.detach()))
        check_finite(losses[-1], f"{task.name} n={n} seed={seed}", step)
        loss.backward()
        if config.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, config.clip_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if config.mode == "lora":
        tuned = tuned.merge_and_unload()  # type: ignore[operator]  # a peft model here (with_lora)
    tuned.eval()
    return Finetuned(tuned, tuple(losses))
