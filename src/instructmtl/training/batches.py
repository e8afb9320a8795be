"""Micro-batches for instruction-tuning: left-padded, length-grouped, loss on the target tail.

Why left padding: every row then *ends* at the same position, so the targets
(always at the end of a row) sit in the last ``max_target + 1`` positions and
the model only has to compute logits there (``logits_to_keep``). With prompts
several times longer than targets, that skips most of the LM-head work and
memory that a right-padded, full-logits loss (Hugging Face ``Trainer``'s)
spends, while the result is exactly the full computation: explicit position ids
make a left-padded row's logits equal the row run alone (tested).
Why no packing: packing several examples in one row needs a block-diagonal
attention mask to stay exact, which SDPA on CPU does not take cheaply; grouping
by length keeps the padding small instead (measured and logged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from instructmtl.training.examples import IGNORE_INDEX, TrainExample


@dataclass(frozen=True)
class MicroBatch:
    """Tensors for one forward pass plus the bookkeeping the loss and logs need.

    Attributes:
        input_ids, attention_mask, position_ids: [B, L], left-padded.
        labels: [B, K - 1], the tokens predicted from the last K positions (IGNORE_INDEX off-target).
        keep: K, the number of final positions whose logits are computed.
        tasks, groups: per row.
        real_tokens: non-pad tokens in the batch.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor
    keep: int
    tasks: tuple[str, ...]
    groups: tuple[str, ...]
    real_tokens: int

    @property
    def padded_tokens(self) -> int:
        """All token slots, pads included."""
        return self.input_ids.numel()

    def to(self, device: torch.device) -> MicroBatch:
        """The same batch on ``device``."""
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return MicroBatch(
            move(self.input_ids), move(self.attention_mask), move(self.position_ids), move(self.labels),
            self.keep, self.tasks, self.groups, self.real_tokens,
        )


def collate(examples: Sequence[TrainExample], pad_id: int) -> MicroBatch:
    """Left-pads ``examples`` into one micro-batch.

    Raises:
        ValueError: for an empty batch or an example without target tokens.
    """
    if not examples:
        raise ValueError("cannot collate an empty micro-batch")
    length = max(len(ex.input_ids) for ex in examples)
    max_target = max(ex.n_target_tokens for ex in examples)
    if min(ex.n_target_tokens for ex in examples) < 1:
        raise ValueError("every training example needs at least one target token")
    keep = max_target + 1
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    labels = torch.full((len(examples), keep - 1), IGNORE_INDEX, dtype=torch.long)
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        ids[row, length - n :] = torch.tensor(ex.input_ids)
        mask[row, length - n :] = 1
        t = ex.n_target_tokens
        labels[row, keep - 1 - t :] = torch.tensor(ex.input_ids[ex.target_start :])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return MicroBatch(
        ids, mask, positions, labels, keep,
        tuple(ex.task for ex in examples), tuple(ex.group for ex in examples), int(mask.sum()),
    )


#: Start a new micro-batch rather than let padding exceed this share of its tokens.
MAX_PADDING = 0.10


def length_grouped(
    examples: Sequence[TrainExample], micro_batch_size: int, max_padding: float = MAX_PADDING
) -> list[list[TrainExample]]:
    """Cuts a step's examples into micro-batches of similar length, so little is padding.

    Examples are sorted by length and a micro-batch is closed when it holds
    ``micro_batch_size`` rows or when adding the next (longer) row would make
    more than ``max_padding`` of its token slots padding. The step's gradient
    is a sum over all its examples, so regrouping them does not change it; a few
    more, smaller forward passes cost less than computing on pads (measured:
    padding 20% → 6% and +15-34% tokens/s on the tiny model).
    """
    ordered = sorted(examples, key=lambda ex: len(ex.input_ids))
    batches: list[list[TrainExample]] = []
    current: list[TrainExample] = []
    real = 0
    for ex in ordered:
        length = len(ex.input_ids)
        slots = length * (len(current) + 1)  # the new row is the longest so far
        if current and (len(current) == micro_batch_size or 1 - (real + length) / slots > max_padding):
            batches.append(current)
            current, real = [], 0
        current.append(ex)
        real += length
    if current:
        batches.append(current)
    return batches


def per_example_nll(model: torch.nn.Module, batch: MicroBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed target NLL and target-token count of each row.

    Returns:
        ``(nll_sum [B], n_tokens [B])``; the sum keeps the graph for backward.
    """
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=batch.keep,
        use_cache=False,
    ).logits[:, :-1]
    losses = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), batch.labels.reshape(-1),
        ignore_index=IGNORE_INDEX, reduction="none",
    ).view(batch.labels.shape)
    counts = (batch.labels != IGNORE_INDEX).sum(-1)
    return losses.sum(-1), counts


def lm_block_nll(model: torch.nn.Module, blocks: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed next-token NLL over packed corpus blocks [N, T] (replay), and the token count."""
    logits = model(input_ids=blocks, use_cache=False).logits[:, :-1]
    targets = blocks[:, 1:]
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
    return nll, targets.numel()
