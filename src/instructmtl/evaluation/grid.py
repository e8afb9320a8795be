"""The batched transfer grid: many few-shot fine-tunes trained together in one process.

A study fine-tunes every checkpoint on every held-out task for every ``n`` and
seed: hundreds of small jobs of the same shape. Here the parameters of M
fine-tunes (*members*: any mix of checkpoints, tasks, ``n`` and seeds) are
stacked along a new leading dimension and trained at once with
``torch.func.functional_call`` under ``torch.vmap``, so every layer runs one
batched matrix product for all members. What that saves against one
fine-tune at a time (``bench/transfer_grid.py``): the per-operation overhead
of M small models; padding, because each member's step is one packed sequence
(the rows' shared prompt prefix once, then each row's own tokens, see
:mod:`.grid_batch`) instead of rows padded to the longest; the repeated prefix;
and the output layer everywhere but at target tokens. A small model on a CPU
is bound by its matrix products, so the gain is what the skipped work is worth
(figures in ``bench/README.md``).

Why this is exactly M independent fine-tunes:

* each member gets its own packed step: its ``min(n, batch_size)`` instances
  of the step, packed after their shared prefix, right-padded to the chunk's
  longest packed step (pads are seen by nothing and never read), and the
  loss is the mean NLL over its target tokens, as one fine-tune computes it;
* the loss is the sum of the members' losses, and no parameter is shared, so
  the gradient of member m's slice is the gradient of member m's own loss;
* AdamW is elementwise, so one AdamW over the stacked tensors is M
  independent AdamWs with the same hyperparameters;
* clipping needs each member's own gradient norm: computed per member over
  its slices (:func:`clip_per_member`), the same formula as
  ``torch.nn.utils.clip_grad_norm_``.

Attention runs in :mod:`.grid_attention` (segment by segment, so rows do not
pay for each other's tokens), with explicit masks and position ids, because
Hugging Face's mask builder branches on tensor values (which ``vmap`` cannot
trace) and CPU SDPA kernels have no batching rule. Full fine-tuning only:
LoRA fine-tunes run one by one (:mod:`.finetune_single`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap
from transformers import PreTrainedModel

from instructmtl.errors import ConfigError
from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.finetune_data import FewShotTask, cycle_order, step_indices
from instructmtl.evaluation.finetune_single import adamw, autocast, check_finite
from instructmtl.evaluation.grid_attention import ATTENTION_NAME
from instructmtl.evaluation.grid_batch import packed_length, shared_prefix_length, step_inputs
from instructmtl.tokenized.examples import IGNORE_INDEX

__all__ = [
    "Chunk",
    "Member",
    "TrainedChunk",
    "clip_per_member",
    "concurrent_chunks",
    "load_member",
    "member_bytes",
    "plan_chunks",
    "train_chunk",
]

_FP32_TRAINING_BYTES_PER_PARAM = 16  # weight, gradient, two AdamW moments


@dataclass(frozen=True, order=True)
class Member:
    """One fine-tune of the grid.

    Attributes:
        task: the held-out task.
        seed: the fine-tune's seed (cycling order).
        n: training instances (0 only as the key of an untuned scoring, never trained).
        checkpoint: the name of the model it starts from.
    """

    task: str
    seed: int
    n: int
    checkpoint: str


@dataclass(frozen=True)
class TrainedChunk:
    """Fine-tuned parameters of a chunk of members.

    Attributes:
        members: the members, in stacking order.
        params: parameter name → stacked tensor ``[M, *shape]`` (detached).
        losses: ``[steps, M]`` mean target NLL of each member's batch before each step.
    """

    members: tuple[Member, ...]
    params: dict[str, torch.Tensor]
    losses: torch.Tensor


@dataclass(frozen=True)
class _Shape:
    """A member's step shape at its widest over the steps: packed tokens, and target tokens."""

    length: int
    keep: int


def _shape(task: FewShotTask, member: Member, config: FinetuneConfig) -> _Shape:
    examples = task.train[: member.n]
    prefix = shared_prefix_length(examples)
    order, rows = cycle_order(member.task, member.n, member.seed), config.rows(member.n)
    steps = [[examples[i] for i in step_indices(order, rows, step)] for step in range(min(config.steps, member.n))]
    return _Shape(
        max(packed_length(batch, prefix) for batch in steps),
        max(sum(ex.n_target_tokens for ex in batch) for batch in steps),
    )


def member_bytes(model: PreTrainedModel, rows: int, length: int, keep: int) -> int:
    """A rough fp32 memory estimate of one member: optimizer state plus activations kept for backward.

    Activations per token and layer follow the usual count for a Llama block
    (about 18 hidden-sized and 4 MLP-sized tensors, plus attention scores of
    ``heads * length``); logits of the ``keep`` last positions are counted three
    times (logits, log-softmax, gradient). The grid counts a packed step as one row of its packed
    length (an upper bound: its attention runs per row segment).
    """
    cfg = model.config
    # configs name the MLP width differently (GPT-2: ``n_inner``, None meaning 4x hidden)
    mlp = getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * cfg.hidden_size
    per_token_layer = 18 * cfg.hidden_size + 4 * mlp + 3 * cfg.num_attention_heads * length
    activations = rows * length * cfg.num_hidden_layers * per_token_layer + rows * length * length
    logits = 3 * rows * keep * cfg.vocab_size
    # the config's sizes are untyped attributes
    return int(_FP32_TRAINING_BYTES_PER_PARAM * model.num_parameters() + 4 * (activations + logits))


@dataclass(frozen=True)
class Chunk:
    """Members trained together, with what planning estimated for them.

    Attributes:
        members: the members, in stacking order.
        tokens: tokens one step runs, padding included (a relative cost for scheduling).
        bytes: estimated memory (:func:`member_bytes` of every member at the chunk's padded shape).
    """

    members: tuple[Member, ...]
    tokens: int
    bytes: int


def _estimate(model: PreTrainedModel, shapes: Sequence[_Shape]) -> tuple[int, int]:
    """``(tokens, bytes)`` of members of these shapes trained together, each padded to the widest."""
    length, keep = max(s.length for s in shapes), max(s.keep for s in shapes)
    return len(shapes) * length, len(shapes) * member_bytes(model, 1, length, keep)


def plan_chunks(
    members: Sequence[Member],
    tasks: Mapping[tuple[str, int], FewShotTask],
    model: PreTrainedModel,
    config: FinetuneConfig,
    share: int = 1,
) -> list[Chunk]:
    """Groups members into chunks that fit the memory budget and waste little on padding.

    Members are sorted by (task, seed, n, checkpoint), so a chunk mostly holds
    one task's fine-tunes from several checkpoints: the same packed steps.
    Every member's packed step is padded to the chunk's longest, so a chunk is
    closed when one more member would break ``grid_max_members``, its part of
    the estimated memory ``grid_memory_gb`` (counted at the padded shape; the
    budget is split ``share`` ways for chunks that train at once), or
    ``grid_min_efficiency`` (the members' own tokens over the padded tokens,
    each member counted at its widest step: 1 when all members have the same
    shape). A member that alone exceeds its part still gets a chunk of its own
    (:func:`concurrent_chunks` then lets fewer chunks run at once).
    """
    budget = config.grid_memory_gb * 2**30 / share
    groups: list[tuple[list[Member], list[_Shape]]] = []
    for member in sorted(members):
        shape = _shape(tasks[(member.task, member.seed)], member, config)
        if groups:
            trial = [*groups[-1][1], shape]
            efficiency = sum(s.length for s in trial) / (len(trial) * max(s.length for s in trial))
            if (
                len(trial) <= config.grid_max_members
                and _estimate(model, trial)[1] <= budget
                and (efficiency >= config.grid_min_efficiency)
            ):
                groups[-1][0].append(member)
                groups[-1][1].append(shape)
                continue
        groups.append(([member], [shape]))
    return [Chunk(tuple(group), *_estimate(model, shapes)) for group, shapes in groups]


def concurrent_chunks(chunks: Sequence[Chunk], config: FinetuneConfig, workers: int) -> int:
    """How many chunks may train at once: ``workers``, fewer when that many of the largest would not fit
    ``grid_memory_gb`` together (never fewer than one)."""
    largest = max(chunk.bytes for chunk in chunks)
    return max(1, min(workers, int(config.grid_memory_gb * 2**30 // largest)))


def clip_per_member(grads: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scales each member's gradient slices to total norm at most ``max_norm``, in place.

    Same formula as ``torch.nn.utils.clip_grad_norm_`` applied to one member's
    gradients: coefficient ``max_norm / (norm + 1e-6)``, clamped at 1.

    Args:
        grads: stacked gradients ``[M, *shape]``.
        max_norm: the clipping threshold.

    Returns:
        ``[M]`` the members' norms before clipping.
    """
    squares = torch.stack([g.float().pow(2).flatten(1).sum(1) for g in grads]).sum(0)
    norms = squares.sqrt()
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.to(g.dtype).view(-1, *[1] * (g.ndim - 1)))
    return norms


def _stack(
    models: Mapping[str, PreTrainedModel], members: Sequence[Member], transposed: frozenset[str]
) -> dict[str, torch.Tensor]:
    """The members' starting parameters, stacked as trainable leaves; all checkpoints must share one architecture.

    The weights named in ``transposed`` are stored as ``[M, in, out]``: under
    ``vmap`` a linear layer's weight gradient comes out in that layout, and a
    leaf of the parameter's own ``[M, out, in]`` layout would make autograd copy
    every such gradient once per step (about 5% of a step on the tiny model).
    :func:`_as_parameters` gives the model its usual layout as views.
    """
    named = {name: dict(model.named_parameters()) for name, model in models.items()}
    first = next(iter(named.values()))
    shapes = {k: p.shape for k, p in first.items()}
    for name, params in named.items():
        if {k: p.shape for k, p in params.items()} != shapes:
            raise ConfigError(
                f"checkpoint '{name}' has another architecture than '{next(iter(named))}'; the transfer "
                "grid compares checkpoints of one base model, give checkpoints of the same base"
            )
    leaves = {}
    for key in shapes:
        stacked = torch.stack([named[m.checkpoint][key].detach() for m in members])
        if key in transposed:
            stacked = stacked.transpose(-1, -2).contiguous()
        leaves[key] = stacked.requires_grad_(True)
    return leaves


def _as_parameters(leaves: Mapping[str, torch.Tensor], transposed: frozenset[str]) -> dict[str, torch.Tensor]:
    """The stacked parameters in the model's own layout (views of the leaves; made anew for each step's graph)."""
    return {key: leaf.transpose(-1, -2) if key in transposed else leaf for key, leaf in leaves.items()}


def _linear_weights(model: PreTrainedModel) -> frozenset[str]:
    """Names of the weights that only ``nn.Linear`` modules use.

    A tied output layer's weight is the input embedding's, which the lookup
    reads by rows: it keeps its own layout.
    """
    first_name = {id(p): name for name, p in model.named_parameters()}
    embedding = model.get_input_embeddings().weight
    return frozenset(
        first_name[id(module.weight)]
        for module in model.modules()
        if isinstance(module, torch.nn.Linear) and id(module.weight) in first_name and module.weight is not embedding
    )


def _per_member_loss(template: PreTrainedModel, buffers: dict[str, torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``(stacked params, *StepInputs.tensors()) -> [M]``: each member's mean target NLL over its step."""

    def member_loss(  # type: ignore[no-untyped-def]  # torch.func.vmap passes untyped tensors positionally
        params,
        input_ids,
        positions,
        mask,
        segment_query,
        token_slot,
        targets,
        labels,
    ):
        # logits only where a target token is predicted: a [1, N] index tensor is gathered per member;
        # the segment layout reaches the attention function through the forward's keyword arguments
        out = functional_call(
            template,
            (params, buffers),
            (),
            {
                "input_ids": input_ids,
                "attention_mask": mask,
                "position_ids": positions,
                "logits_to_keep": targets,
                "use_cache": False,
                "segment_query": segment_query,
                "token_slot": token_slot,
            },
        )
        logits = out.logits.float()
        nll = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return nll / (labels != IGNORE_INDEX).sum()

    # "different": a model with dropout draws its own masks per member (then the grid equals one-by-one
    # runs in distribution only; Llama-family models have no dropout and match exactly)
    return vmap(member_loss, randomness="different")


def train_chunk(
    models: Mapping[str, PreTrainedModel],
    members: Sequence[Member],
    tasks: Mapping[tuple[str, int], FewShotTask],
    config: FinetuneConfig,
    pad_id: int,
) -> TrainedChunk:
    """Fine-tunes every member of a chunk together (full fine-tuning).

    Args:
        models: checkpoint name → model (same architecture; left untouched).
        members: the chunk.
        tasks: (task, seed) → the task's few-shot data.
        config: steps, batch size, optimizer, clipping, precision.
        pad_id: the tokenizer's pad id.

    Returns:
        The members' tuned parameters and loss curves.

    Raises:
        ConfigError: checkpoints of different architectures.
        TrainingDivergedError: a member's loss became NaN or infinite.
    """
    template = copy.deepcopy(models[members[0].checkpoint])
    template.set_attn_implementation(ATTENTION_NAME)
    template.train()
    # vmap folds the kept positions into one matrix product only when they are contiguous (otherwise it
    # multiplies row by row, copying the output weight and its gradient each time)
    template.get_output_embeddings().register_forward_pre_hook(lambda _module, args: (args[0].contiguous(), *args[1:]))
    transposed = _linear_weights(template)
    leaves = _stack(models, members, transposed)
    optimizer = adamw(list(leaves.items()), config, leading_dims=1)
    data = [tasks[(m.task, m.seed)] for m in members]
    orders = [cycle_order(m.task, m.n, m.seed) for m in members]
    prefixes = [shared_prefix_length(task.train[: m.n]) for task, m in zip(data, members, strict=True)]
    per_member = _per_member_loss(template, dict(template.named_buffers()))
    losses = []
    for step in range(config.steps):
        rows = [
            [task.train[i] for i in step_indices(order, config.rows(m.n), step)]
            for task, order, m in zip(data, orders, members, strict=True)
        ]
        inputs = step_inputs(rows, prefixes, pad_id, template.dtype).tensors()
        with autocast(config, template.device):
            loss = per_member(_as_parameters(leaves, transposed), *(t.to(template.device) for t in inputs))
        losses.append(loss.detach().float())
        check_finite(float(losses[-1].sum()), f"grid chunk starting at {members[0]}", step)
        loss.sum().backward()
        if config.clip_norm is not None:
            clip_per_member([p.grad for p in leaves.values() if p.grad is not None], config.clip_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    params = {k: v.detach() for k, v in _as_parameters(leaves, transposed).items()}
    return TrainedChunk(tuple(members), params, torch.stack(losses))


@torch.no_grad()
def load_member(model: PreTrainedModel, chunk: TrainedChunk, index: int) -> PreTrainedModel:
    """Copies member ``index``'s tuned parameters into ``model`` (same architecture) and returns it."""
    for name, param in model.named_parameters():
        param.copy_(chunk.params[name][index])
    return model
