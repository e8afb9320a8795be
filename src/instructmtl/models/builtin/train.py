"""Pretraining the built-in base model: tokenizer, Llama model, AdamW with warm-up + cosine, bf16 autocast.

A plain loop in nanoGPT's spirit rather than ``transformers.Trainer``: the
data is an endless stream of packed blocks, there is no evaluation set, no
checkpointing mid-run, and the loop stays readable top to bottom.

bf16 is plain ``torch.autocast`` (on CPU too, where bf16 matmuls are about 3x
faster than fp32 for the tiny preset), not ``accelerate``'s mixed precision:
``accelerate`` keeps the precision in a process-wide singleton that refuses a
second value, so a bf16 pretraining would make a later fp32 instruction-tuning
run in the same process fail (and an earlier bf16 tuning run would silently
turn an fp32 pretraining into bf16). The loop is single-device by design (every
rank would draw the same packed blocks), so ``accelerate`` would add nothing else.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast, get_cosine_with_min_lr_schedule_with_warmup

from instructmtl.corpus import CorpusSource, build_source, packed_blocks
from instructmtl.errors import TrainingDivergedError
from instructmtl.models.builtin.presets import Preset
from instructmtl.models.builtin.recipe import PretrainRecipe
from instructmtl.models.builtin.tokenizer import train_tokenizer

#: Log the loss every this many steps into the metadata's curve.
CURVE_EVERY = 10


def tokenizer_sample(source: CorpusSource, n_documents: int, seed: int) -> list[str]:
    """The first ``n_documents`` documents of a pass drawn with its own seed (fewer if the source is smaller)."""
    rng = random.Random(f"instructmtl-tokenizer-{seed}")
    return list(itertools.islice(source.documents(rng), n_documents))


def build_model(preset: Preset, tokenizer: PreTrainedTokenizerFast, seed: int) -> LlamaForCausalLM:
    """A randomly initialised Llama of the preset's size, seeded without touching the global RNG state."""
    config = preset.llama_config(tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
    # transformers initialises weights from torch's global RNG; fork it so the caller's state is unchanged
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def batches(blocks: Iterator[torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
    """Stacks consecutive blocks into ``(batch_size, block_len)`` batches."""
    while True:
        chunk = list(itertools.islice(blocks, batch_size))
        if len(chunk) < batch_size:
            return
        yield torch.stack(chunk)


def make_optimizer(model: torch.nn.Module, preset: Preset) -> torch.optim.AdamW:
    """AdamW with decay on matrices only (norm gains and vectors are not decayed, as in GPT-2/Llama recipes)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": preset.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=preset.lr, betas=(0.9, 0.95), eps=1e-8)


class TrainStats:
    """What the loop reports: losses, tokens and time (kept out of the loop body for readability)."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.curve: list[tuple[int, float]] = []
        self.tokens = 0
        self.start = time.perf_counter()

    def record(self, step: int, loss: float, tokens: int) -> None:
        self.losses.append(loss)
        self.tokens += tokens
        if step % CURVE_EVERY == 0:
            window = self.losses[-CURVE_EVERY:]
            self.curve.append((step, round(sum(window) / len(window), 4)))

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def final_loss(self) -> float:
        """Mean loss over the last 5% of steps (at least one), less noisy than the last step."""
        tail = self.losses[-max(1, len(self.losses) // 20) :]
        return sum(tail) / len(tail)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]pretrain[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tps]:>7.0f} tok/s  loss {task.fields[loss]:.3f}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def pretrain_model(
    recipe: PretrainRecipe, preset: Preset, show_progress: bool = True
) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast, TrainStats]:
    """Trains a tokenizer and a model from scratch, as ``recipe`` and ``preset`` say.

    Args:
        recipe: seed, steps, precision and corpus (``None`` fields take the preset's value).
        preset: the model size and optimisation hyperparameters.
        show_progress: draw a rich progress bar with tokens/s and loss.

    Returns:
        The trained model (fp32 weights, on CPU), its tokenizer, and the run's statistics.

    Raises:
        TrainingDivergedError: if the loss becomes NaN or infinite.
    """
    steps = recipe.steps or preset.steps
    precision = recipe.precision or preset.precision
    source = build_source(recipe.corpus)
    tokenizer = train_tokenizer(
        tokenizer_sample(source, preset.tokenizer_documents, recipe.seed), preset.vocab_size, preset.context_len
    )
    model = build_model(preset, tokenizer, recipe.seed)
    optimizer = make_optimizer(model, preset)
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, preset.warmup_steps, steps, min_lr_rate=preset.min_lr_ratio
    )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)  # type: ignore[arg-type]  # transformers' to() wrapper is typed as taking the model
    data = batches(packed_blocks(source, tokenizer, preset.context_len, recipe.seed), preset.batch_size)
    stats = TrainStats()
    model.train()
    with _progress(show_progress) as progress:
        bar = progress.add_task("pretrain", total=steps, tps=0.0, loss=math.nan)
        for step, batch in enumerate(itertools.islice(data, steps), start=1):
            batch = batch.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model(input_ids=batch, labels=batch).loss
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"pretraining loss is {loss.item()} at step {step}; lower the preset's lr or use precision fp32"
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            stats.record(step, loss.item(), batch.numel())
            progress.update(bar, advance=1, tps=stats.tokens / stats.seconds, loss=loss.item())
    model = model.to("cpu", dtype=torch.float32).eval()  # type: ignore[arg-type]  # as above
    return model, tokenizer, stats


def preset_dict(preset: Preset) -> dict[str, object]:
    """The preset as plain JSON-ready values (for the metadata)."""
    return asdict(preset)


def save_base(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """Writes an ordinary Hugging Face model directory (config, safetensors, tokenizer files)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
