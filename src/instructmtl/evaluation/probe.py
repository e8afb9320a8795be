"""A quick check that a base model learns from demonstrations: target NLL under ``pos-k`` prompts.

The default study only means something if the base model already learns in
context before instruction-tuning (otherwise there is nothing to forget). This
probe measures exactly that, with the prompt layout the study uses
(:mod:`instructmtl.prompts`): for each task, each eval instance is prompted
with k demonstrations drawn from the task's other instances, and the model's
mean per-token negative log-likelihood of the target is recorded. A model that
learns in context has a loss that falls as k grows.

Scoring is the study's own (:func:`instructmtl.evaluation.score_continuations`:
lm-evaluation-harness tokenization, no added special tokens, shared-prefix KV
cache), so the probe measures exactly the ICL target NLL a study reports. It
also reports the teacher-forced exact match: the share of targets whose every
token is the model's top prediction, which equals greedy decoding's exact match
on the target (the first wrong token is where greedy decoding would diverge).

The full evaluation (generation, ROUGE-L, rank classification) lives in
:mod:`instructmtl.evaluation`; this probe is what the pretraining bench,
tests and ``pretrain`` report use to decide whether a base is good enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import PromptTooLongError
from instructmtl.evaluation import ContinuationScore, score_continuations
from instructmtl.prompts import Prompt, TaskPrompter, parse_encoding
from instructmtl.tasks.schema import Task

#: Instances scored per forward pass (after the shared prefix).
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


def _check_fits(prompt: Prompt, tokenizer: PreTrainedTokenizerBase, max_len: int) -> None:
    n_tokens = len(tokenizer(prompt.text + prompt.target, add_special_tokens=False)["input_ids"])
    if n_tokens > max_len:
        raise PromptTooLongError(
            f"task '{prompt.task}' ({prompt.encoding}): {n_tokens} tokens exceed the model's "
            f"{max_len}; probe with a smaller k or shorter tasks"
        )


def _task_scores(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: list[Prompt]
) -> list[ContinuationScore]:
    """The target's score for each prompt of one task, with the study's own scorer (shared prefix)."""
    max_len = model.config.max_position_embeddings
    for prompt in prompts:
        _check_fits(prompt, tokenizer, max_len)
    items = [(p.query, [p.target]) for p in prompts]
    return [choices[0] for choices in score_continuations(model, tokenizer, prompts[0].prefix, items, BATCH_SIZE)]


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
        tokenizer: its tokenizer.
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
    curve: dict[int, IclPoint] = {}
    for k in ks:
        per_task: dict[str, float] = {}
        greedy: list[bool] = []
        for task in tasks:
            scores = _task_scores(model, tokenizer, _prompts(task, k, seed, n_eval))
            per_task[task.name] = -sum(s.sum_logprob for s in scores) / sum(s.n_tokens for s in scores)
            greedy.extend(s.is_greedy for s in scores)
        curve[k] = IclPoint(
            k=k,
            loss=sum(per_task.values()) / len(per_task),
            exact_match=sum(greedy) / len(greedy),
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
