"""A quick check that a base model learns from demonstrations: target NLL under ``pos-k`` prompts.

The default study only means something if the base model already learns in
context before instruction-tuning (otherwise there is nothing to forget). This
probe measures exactly that, with the prompt layout the study uses
(:mod:`instructmtl.prompts`): for each task, each eval instance is prompted
with k demonstrations drawn from the task's other instances, and the model's
mean per-token negative log-likelihood of the target is recorded. A model that
learns in context has a loss that falls as k grows.

It also reports the teacher-forced exact match: the share of targets whose
every token is the model's top prediction. That equals greedy decoding's exact
match on the target (the first wrong token is where greedy decoding would
diverge), at the cost of one forward pass instead of a generation loop.

The full evaluation (generation, ROUGE-L, rank classification) lives in
:mod:`instructmtl.evaluation`; this probe is what the pretraining bench,
tests and ``pretrain`` report use to decide whether a base is good enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import PromptTooLongError
from instructmtl.prompts import Prompt, TaskPrompter, parse_encoding
from instructmtl.tasks.schema import Task

#: Prompts scored per forward pass.
BATCH_SIZE = 16


@dataclass(frozen=True)
class IclPoint:
    """The probe's result for one k, averaged over tasks (each task weighs the same).

    Attributes:
        k: demonstrations per prompt.
        loss: mean per-token target NLL (nats).
        exact_match: share of targets predicted entirely by greedy decoding.
        per_task: task name → that task's mean per-token target NLL.
    """

    k: int
    loss: float
    exact_match: float
    per_task: dict[str, float]


def _prompts(task: Task, k: int, seed: int, n_eval: int) -> list[Prompt]:
    """``n_eval`` eval prompts; demonstrations come from a disjoint pool of the task's instances.

    The split is fixed (the first half of the instances is the pool), so every k
    prompts the same eval instances and larger k only adds demonstrations.
    """
    half = len(task.instances) // 2
    pool, evals = task.instances[:half], task.instances[half : half + n_eval]
    prompter = TaskPrompter(task, parse_encoding(f"pos-{k}"), seed, demo_pool=pool)
    return list(prompter.encode_all(evals))


def _token_ids(prompt: Prompt, tokenizer: PreTrainedTokenizerBase, max_len: int) -> tuple[list[int], int]:
    """Prompt ids (with the tokenizer's special tokens) + target ids, and the target's start."""
    context = tokenizer(prompt.text)["input_ids"]
    target = tokenizer(prompt.target, add_special_tokens=False)["input_ids"]
    if len(context) + len(target) > max_len:
        raise PromptTooLongError(
            f"task '{prompt.task}' ({prompt.encoding}): {len(context) + len(target)} tokens exceed the model's "
            f"{max_len}; probe with a smaller k or shorter tasks"
        )
    return context + target, len(context)


@torch.no_grad()
def _score(model: PreTrainedModel, batch: list[tuple[list[int], int]], pad_id: int) -> list[tuple[float, int, bool]]:
    """(summed target NLL, target tokens, all-correct) for each sequence of a batch."""
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, _) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device)).logits.float().cpu()
    logprobs = torch.log_softmax(logits, dim=-1)
    results = []
    for row, (ids, start) in enumerate(batch):
        # position p predicts token p + 1
        positions = torch.arange(start - 1, len(ids) - 1)
        targets = torch.tensor(ids[start:])
        token_lp = logprobs[row, positions, targets]
        correct = bool((logits[row, positions].argmax(-1) == targets).all())
        results.append((-float(token_lp.sum()), len(targets), correct))
    return results


def icl_probe(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[Task],
    ks: Sequence[int],
    seed: int,
    n_eval: int = 20,
) -> dict[int, IclPoint]:
    """Target NLL and exact match of ``model`` under ``pos-k`` prompts, for each k.

    Args:
        model: a causal LM (evaluated as is, in eval mode, without gradients).
        tokenizer: its tokenizer; needs a pad token or an EOS to pad with.
        tasks: the tasks to probe, each with at least ``2 * n_eval`` instances ideally.
        ks: demonstration counts, e.g. ``(0, 1, 2, 4)``.
        seed: selects the demonstrations drawn from each task's pool.
        n_eval: eval instances per task.

    Returns:
        k → :class:`IclPoint`.

    Raises:
        PromptTooLongError: if a prompt does not fit the model's context.
    """
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    max_len = model.config.max_position_embeddings
    curve: dict[int, IclPoint] = {}
    for k in ks:
        per_task: dict[str, float] = {}
        matches: list[bool] = []
        for task in tasks:
            encoded = [_token_ids(p, tokenizer, max_len) for p in _prompts(task, k, seed, n_eval)]
            scored = [
                r for i in range(0, len(encoded), BATCH_SIZE) for r in _score(model, encoded[i : i + BATCH_SIZE], pad_id)
            ]
            per_task[task.name] = sum(nll for nll, _, _ in scored) / sum(n for _, n, _ in scored)
            matches.extend(ok for _, _, ok in scored)
        curve[k] = IclPoint(
            k=k,
            loss=sum(per_task.values()) / len(per_task),
            exact_match=sum(matches) / len(matches),
            per_task=per_task,
        )
    return curve


def icl_curve(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[Task],
    ks: Sequence[int],
    seed: int,
    n_eval: int = 20,
) -> dict[int, float]:
    """k → mean per-token target NLL under ``pos-k`` prompts (see :func:`icl_probe`)."""
    return {k: point.loss for k, point in icl_probe(model, tokenizer, tasks, ks, seed, n_eval).items()}
