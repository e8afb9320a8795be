"""Micro-batches for instruction-tuning: left-padded, length-grouped, loss on the target tail.

Why left padding: every row then *ends* at the same position, so the targets
(always at the end of a row) sit in the last ``max_target + 1`` positions and
the model only has to compute logits there (``logits_to_keep``). With prompts
several times longer than targets, that skips most of the LM-head work and
memory that a right-padded, full-logits loss (Hugging Face ``Trainer``'s)
spends, while the result is exactly the full computation: explicit position ids
make a left-padded row's logits equal the row run alone (tested).
Why no packing: packing several examples in one row needs a block-diagonal
attention mask to stay exact, and SDPA's CPU kernel then computes attention
over the whole packed row: measured, 6 examples of 180 tokens cost 7.6 ms of
attention (forward + backward, one layer of the tiny model) as padded rows and
12.1 ms packed two per row, while grouping by length leaves only 2-3% padding
to win back (attention is about a fifth of a step). Grouping it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from instructmtl.contiguous import cheapest_runs
from instructmtl.tokenized.examples import IGNORE_INDEX, TrainExample


@dataclass(frozen=True)
class MicroBatch:
    """Tensors for one forward pass plus the bookkeeping the loss and logs need.

    Attributes:
        input_ids, attention_mask, position_ids: [B, L], left-padded.
        labels: [B, K - 1], the tokens predicted from the last K positions (IGNORE_INDEX off-target).
        marker: [B, K - 1] bool, True where the label is an end-of-target-marker token: the loss
            trains on it, while content-token NLL (what evaluation measures) leaves it out.
        keep: K, the number of final positions whose logits are computed.
        tasks, groups: per row.
        real_tokens: non-pad tokens in the batch.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor
    marker: torch.Tensor
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

        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=True)

        return MicroBatch(
            move(self.input_ids),
            move(self.attention_mask),
            move(self.position_ids),
            move(self.labels),
            move(self.marker),
            self.keep,
            self.tasks,
            self.groups,
            self.real_tokens,
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
    marker = torch.zeros((len(examples), keep - 1), dtype=torch.bool)
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        ids[row, length - n :] = torch.tensor(ex.input_ids)
        mask[row, length - n :] = 1
        t = ex.n_target_tokens
        labels[row, keep - 1 - t :] = torch.tensor(ex.input_ids[ex.target_start :])
        if ex.n_marker_tokens:
            marker[row, keep - 1 - ex.n_marker_tokens :] = True
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return MicroBatch(
        ids,
        mask,
        positions,
        labels,
        marker,
        keep,
        tuple(ex.task for ex in examples),
        tuple(ex.group for ex in examples),
        int(mask.sum()),
    )


#: Fixed cost of one more forward/backward pass, in token slots: what a micro-batch costs beyond its
#: ``rows * length`` slots (Python, per-op dispatch, mask building). Measured on the 2-core development
#: machine with the tiny model at one thread: 4-8 ms per pass at about 8000 slots/s, so 35-65 slots;
#: on the benchmark's steps 24 and 48 gave the same throughput (within noise), 96 less.
MICRO_BATCH_OVERHEAD = 32


def length_grouped(
    examples: Sequence[TrainExample], micro_batch_size: int, overhead: int = MICRO_BATCH_OVERHEAD
) -> list[list[TrainExample]]:
    """Cuts a step's examples into micro-batches of similar length at the least total cost.

    Examples are sorted by length and cut into contiguous runs of at most
    ``micro_batch_size`` rows so that the total of ``rows * longest + overhead``
    over micro-batches is minimal (:func:`instructmtl.contiguous.cheapest_runs`). Padded slots cost like real ones, and
    every extra pass costs ``overhead`` slots, so the cut trades padding
    against passes. The step's gradient is a sum over all its examples, so
    regrouping them does not change it. On the benchmark workload this leaves
    2-3% padding and runs about 8% faster (CPU time, tiny model) than the
    greedy rule it replaced (close a micro-batch before padding passes 10%),
    which left 7%.
    """
    ordered = sorted(examples, key=lambda ex: len(ex.input_ids))
    # sorted by length, so a run's longest row is its last
    _, runs = cheapest_runs(
        len(ordered), micro_batch_size, lambda begin, end: (end - begin) * len(ordered[end - 1].input_ids) + overhead
    )
    return [list(ordered[begin:end]) for begin, end in runs]


def per_example_nll(model: torch.nn.Module, batch: MicroBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Summed target NLL and target-token count of each row, and the part of the NLL on marker tokens.

    Returns:
        ``(nll_sum [B], n_tokens [B], marker_nll_sum [B])``; the first keeps the graph for
        backward, the marker part is detached (it is only logged).
    """
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=batch.keep,
        use_cache=False,
    ).logits[:, :-1]
    losses = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        batch.labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(batch.labels.shape)
    counts = (batch.labels != IGNORE_INDEX).sum(-1)
    marker_nll = (losses.detach() * batch.marker).sum(-1)
    return losses.sum(-1), counts, marker_nll


def lm_block_nll(model: torch.nn.Module, blocks: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed next-token NLL over packed corpus blocks [N, T] (replay), and the token count."""
    logits = model(input_ids=blocks, use_cache=False).logits[:, :-1]
    targets = blocks[:, 1:]
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
    return nll, targets.numel()
