"""One optimizer step's forward/backward: the plain path and the task-group path.

*Plain* (aggregator ``mean`` with ``equal`` weighting): the loss is the mean
NLL over every target token of the step, accumulated over micro-batches with
one backward each, like any instruction-tuning loop.

*Grouped*: the step's examples are split into task groups. With a loss
weighting, the per-group losses are combined by the weighting and back-propagated
once; with a gradient aggregator, each group gets its own backward, the group
gradients form a matrix J [G, P], and the torchjd aggregator turns J into the
update. Replay (LM loss on corpus blocks) and the regularizer's penalty are
back-propagated on top of the update in both paths: they are not tasks whose
conflicts the aggregator should resolve.

Under several processes each process holds a shard of the step's examples;
losses are normalised by the *global* token count so the result equals the
single-process step, and J is averaged across processes before aggregation.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from accelerate import Accelerator

from instructmtl.mtl import ConflictDiagnostics, JacobianAggregator, LossWeighting, WeightingState, gradient_conflict
from instructmtl.tokenized.batches import MicroBatch, lm_block_nll, per_example_nll


@dataclass
class StepStats:
    """What a step measured, for the log (plain floats, already detached)."""

    loss: float = 0.0
    task_nll: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))
    marker_nll: list[float] = field(default_factory=lambda: [0.0, 0.0])
    replay_loss: float | None = None
    penalty: float | None = None
    real_tokens: int = 0
    padded_tokens: int = 0
    target_tokens: int = 0
    diagnostics: ConflictDiagnostics | None = None

    def record(self, batch: MicroBatch, nll: torch.Tensor, counts: torch.Tensor, marker_nll: torch.Tensor) -> None:
        """Adds a micro-batch's per-row NLL sums and token counts to the per-task totals.

        ``task_nll`` keeps the *content* tokens only (the token set evaluation measures);
        the end-of-target marker's NLL and count go to ``marker_nll``.
        """
        marker_counts = batch.marker.sum(-1).tolist()
        rows = zip(batch.tasks, nll.detach().tolist(), counts.tolist(), marker_nll.tolist(), marker_counts, strict=True)
        for task, value, n, marker_value, n_marker in rows:
            self.task_nll[task][0] += value - marker_value
            self.task_nll[task][1] += n - n_marker
            self.marker_nll[0] += marker_value
            self.marker_nll[1] += n_marker
        self.real_tokens += batch.real_tokens
        self.padded_tokens += batch.padded_tokens

    def target_sum(self) -> float:
        """Summed NLL over every target token recorded (content and marker): what the step optimizes."""
        return sum(v[0] for v in self.task_nll.values()) + self.marker_nll[0]

    def target_count(self) -> int:
        """Target tokens recorded (content and marker)."""
        return int(sum(v[1] for v in self.task_nll.values()) + self.marker_nll[1])

    def content_loss(self) -> float | None:
        """Mean NLL per content token (this process's rows): the token set evaluation NLL uses."""
        n = sum(v[1] for v in self.task_nll.values())
        return sum(v[0] for v in self.task_nll.values()) / n if n else None

    def marker_loss(self) -> float | None:
        """Mean NLL per end-of-target-marker token (this process's rows)."""
        return self.marker_nll[0] / self.marker_nll[1] if self.marker_nll[1] else None


@dataclass(frozen=True)
class Extras:
    """The loss terms added on top of the instruction loss: replay and the regularizer penalty."""

    replay_blocks: torch.Tensor | None
    replay_weight: float
    penalty: Callable[[], torch.Tensor] | None


def global_count(accelerator: Accelerator, local: int) -> int:
    """A count summed over processes (the step's token total must be global)."""
    if accelerator.num_processes == 1:
        return local
    tensor = torch.tensor([local], device=accelerator.device)
    return int(accelerator.reduce(tensor, reduction="sum").item())


def global_sum(accelerator: Accelerator, local: float) -> float:
    """A float summed over processes (for the logged loss: the whole step's, not this shard's)."""
    if accelerator.num_processes == 1:
        return local
    tensor = torch.tensor([local], dtype=torch.float64, device=accelerator.device)
    return float(accelerator.reduce(tensor, reduction="sum").item())


def _backward_extras(model: torch.nn.Module, accelerator: Accelerator, extras: Extras, stats: StepStats) -> None:
    loss = None
    if extras.replay_blocks is not None and extras.replay_blocks.numel():
        nll, n = lm_block_nll(model, extras.replay_blocks)
        replay = nll / n
        stats.replay_loss = float(replay.detach())
        loss = extras.replay_weight * replay
    if extras.penalty is not None:
        penalty = extras.penalty()
        stats.penalty = float(penalty.detach())
        loss = penalty if loss is None else loss + penalty
    if loss is not None:
        # several processes average gradients; each contributes the same extra term
        accelerator.backward(loss)


def plain_step(
    model: torch.nn.Module, accelerator: Accelerator, batches: Sequence[MicroBatch], extras: Extras
) -> StepStats:
    """Token-mean target NLL of the whole step, accumulated over micro-batches."""
    stats = StepStats()
    local_tokens = sum(int((b.labels != -100).sum()) for b in batches)
    total = global_count(accelerator, local_tokens)
    scale = accelerator.num_processes / max(total, 1)
    for i, batch in enumerate(batches):
        last = i == len(batches) - 1 and extras.replay_blocks is None and extras.penalty is None
        with contextlib.nullcontext() if last else accelerator.no_sync(model):
            nll, counts, marker_nll = per_example_nll(model, batch)
            stats.record(batch, nll, counts, marker_nll)
            accelerator.backward(nll.sum() * scale)
    _backward_extras(model, accelerator, extras, stats)
    stats.target_tokens = total
    stats.loss = global_sum(accelerator, stats.target_sum()) / max(total, 1)
    return stats


def _group_losses(
    model: torch.nn.Module, batches_by_group: Mapping[str, Sequence[MicroBatch]], stats: StepStats
) -> dict[str, torch.Tensor]:
    losses = {}
    for group, batches in batches_by_group.items():
        sums, total = [], 0
        for batch in batches:
            nll, counts, marker_nll = per_example_nll(model, batch)
            stats.record(batch, nll, counts, marker_nll)
            sums.append(nll.sum())
            total += int(counts.sum())
        losses[group] = torch.stack(sums).sum() / max(total, 1)
    return losses


def weighted_step(
    model: torch.nn.Module,
    accelerator: Accelerator,
    batches_by_group: Mapping[str, Sequence[MicroBatch]],
    weighting: LossWeighting,
    weighting_state: WeightingState,
    extras: Extras,
) -> StepStats:
    """Per-group token-mean losses combined by a loss weighting; one backward."""
    stats = StepStats()
    losses = _group_losses(model, batches_by_group, stats)
    combined = weighting.combine(losses, weighting_state)
    stats.loss = float(combined.detach())
    accelerator.backward(combined)
    _backward_extras(model, accelerator, extras, stats)
    return stats


def flat_grad(params: Sequence[torch.nn.Parameter]) -> torch.Tensor:
    """The parameters' gradients as one vector (zeros where a parameter got none)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])


def write_flat_grad(params: Sequence[torch.nn.Parameter], vector: torch.Tensor, add: bool) -> None:
    """Writes (or adds) a flat vector into the parameters' ``.grad``."""
    offset = 0
    for p in params:
        piece = vector[offset : offset + p.numel()].view_as(p).to(p.dtype)
        offset += p.numel()
        if add and p.grad is not None:
            p.grad.add_(piece)
        else:
            p.grad = piece.clone()


def group_gradients(
    model: torch.nn.Module,
    accelerator: Accelerator,
    batches_by_group: Mapping[str, Sequence[MicroBatch]],
    params: Sequence[torch.nn.Parameter],
    stats: StepStats,
) -> torch.Tensor:
    """J [G, P]: one backward per group of its token-mean loss, averaged across processes."""
    rows = []
    for group, batches in batches_by_group.items():
        for p in params:
            p.grad = None
        with accelerator.no_sync(model):
            loss = _group_losses(model, {group: batches}, stats)[group]
            accelerator.backward(loss)
        rows.append(flat_grad(params))
    for p in params:
        p.grad = None
    jacobian = torch.stack(rows)
    if accelerator.num_processes > 1:
        jacobian = accelerator.reduce(jacobian, reduction="mean")
    return jacobian


def aggregated_step(
    model: torch.nn.Module,
    accelerator: Accelerator,
    batches_by_group: Mapping[str, Sequence[MicroBatch]],
    aggregator: JacobianAggregator,
    params: Sequence[torch.nn.Parameter],
    extras: Extras,
    generator: torch.Generator,
) -> StepStats:
    """Group gradients combined by a torchjd aggregator into the update.

    ``generator`` feeds aggregators that draw (PCGrad's projection order), seeded per step
    so a resumed run draws the same.
    """
    stats = StepStats()
    jacobian = group_gradients(model, accelerator, batches_by_group, params, stats)
    # outside autocast: the aggregators' Gramians and QP solvers need full precision (and numpy has no bf16)
    with torch.autocast(device_type=jacobian.device.type, enabled=False):
        if jacobian.shape[0] >= 2:
            stats.diagnostics = gradient_conflict(jacobian)
        update = aggregator(jacobian, rng=generator)
    _backward_extras(model, accelerator, extras, stats)
    write_flat_grad(params, update, add=True)
    stats.loss = stats.target_sum() / max(stats.target_count(), 1)
    return stats
