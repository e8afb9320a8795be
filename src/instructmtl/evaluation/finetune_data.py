"""A held-out task's few-shot data: encoded, fitted, tokenized once and shared by every model.

What every fine-tune of a task must share (DESIGN.md claim 1: "same budget and
data order for every model") is fixed here, from the task, the encoding and the
seed alone, never from a checkpoint:

* the few-shot set: the first ``n`` train instances (the study split stores
  them in a seeded shuffled order, so the sets are nested, 5 within 10 within 20);
* the order in which a fine-tune cycles through them (:func:`cycle_order`) and
  the instances of each step (:func:`step_indices`);
* the demonstrations of a ``pos-k`` encoding, drawn from the task's positive
  examples and then from train instances that no fine-tune uses.

Token ids follow the scorer's rule (:func:`~instructmtl.evaluation._prefix_cache.encode_pair`
on ``prefix + query`` and the completion), not ``tokenize_prompt``'s
piece-by-piece ids: a byte-level BPE splits ``"\\n\\nNow"`` differently from
``"\\n\\n"`` + ``"Now"``, and a model fine-tuned on one segmentation and
scored on the other would lose score for a reason that has nothing to do with
transfer. Training on exactly the ids the scorer reads keeps the fine-tuning
loss and the eval target NLL one quantity.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from instructmtl.errors import PromptTooLongError
from instructmtl.evaluation._prefix_cache import encode_pair
from instructmtl.evaluation.generation import max_new_tokens_for
from instructmtl.prompts import Prompt, TaskPrompter, fit_to_context, parse_encoding
from instructmtl.tasks.schema import label_set
from instructmtl.tasks.selection import TaskSplit
from instructmtl.training.examples import TrainExample, bos_ids

__all__ = ["FewShotTask", "build_few_shot_task", "cycle_order", "step_indices"]

_JOIN_SLACK = 2


@dataclass(frozen=True)
class FewShotTask:
    """One held-out task under one encoding and seed, ready to fine-tune on and score.

    Attributes:
        name: the task name.
        encoding: the canonical encoding name.
        seed: the seed that chose demonstrations and cycling orders.
        train: tokenized train examples, the first ``max(n)`` train instances in split order.
        eval_prompts: the eval instances, encoded and fitted.
        references: per eval prompt, every acceptable output.
        prefix: the text the scorers see first (BOS text, if the model uses one, plus
            the shared prompt prefix); equal for every eval prompt of the task.
        labels: the closed label set (rank classification), or ``None`` (generation).
        max_new_tokens: the generation bound for this task.
    """

    name: str
    encoding: str
    seed: int
    train: tuple[TrainExample, ...]
    eval_prompts: tuple[Prompt, ...]
    references: tuple[tuple[str, ...], ...]
    prefix: str
    labels: tuple[str, ...] | None
    max_new_tokens: int

    @property
    def available(self) -> int:
        """How many train instances a fine-tune can use at most."""
        return len(self.train)


def bos_text(tokenizer: PreTrainedTokenizerBase) -> str:
    """The text of the BOS token the tokenizer adds in front of a text ("" when it adds none).

    The scorers encode without special tokens, so a model trained with a BOS
    (the built-in one; Llama) gets it as text at the start of the prefix.
    """
    return tokenizer.decode(bos_ids(tokenizer))


def example_from_prompt(
    prompt: Prompt, tokenizer: PreTrainedTokenizerBase, bos: str, max_length: int
) -> TrainExample:
    """Token ids of ``bos + prefix + query`` and the completion, split where the scorer splits them.

    Raises:
        PromptTooLongError: when the example is longer than ``max_length``.
    """
    context, completion = encode_pair(tokenizer, bos + prompt.prefix + prompt.query, prompt.completion)
    if len(context) + len(completion) > max_length:
        raise PromptTooLongError(
            f"task '{prompt.task}' instance '{prompt.instance_id}': {len(context) + len(completion)} tokens "
            f"exceed max_length {max_length}; raise the fine-tuning max_length or shorten the encoding"
        )
    return TrainExample(prompt.task, prompt.task, tuple(context + completion), len(context))


def build_few_shot_task(
    split: TaskSplit,
    encoding: str,
    seed: int,
    max_n: int,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    max_new_tokens_cap: int,
) -> FewShotTask:
    """Encodes, fits and tokenizes a held-out task's few-shot set and eval instances.

    Args:
        split: the task with its train/eval instances (train in seeded shuffled order).
        encoding: the prompt encoding name.
        seed: selects ``pos-k`` demonstrations.
        max_n: the largest ``n`` of the curve; the first ``min(max_n, len(train))``
            train instances are tokenized, the rest may serve as demonstrations.
        tokenizer: the models' tokenizer.
        max_length: context budget (demonstrations, then inputs, give way).
        max_new_tokens_cap: the most tokens generation may produce.

    Raises:
        ConfigError: a ``pos-k`` encoding asks for more demonstrations than the task can give.
        PromptTooLongError: a target alone does not fit ``max_length``.
    """
    spec = parse_encoding(encoding)
    few_shot = split.train[:max_n]
    prompter = TaskPrompter(split.task, spec, seed, demo_pool=split.train[max_n:])
    bos = bos_text(tokenizer)
    # fit_to_context counts tokens piece by piece (and sets BOS aside); encoding the pieces
    # joined can take a token more at each of the two joins ("\n\n" + "Now"), hence the slack
    prompts, _ = fit_to_context(
        prompter.encode_all([*few_shot, *split.eval]), tokenizer, max_length - _JOIN_SLACK
    )
    train_prompts, eval_prompts = prompts[: len(few_shot)], prompts[len(few_shot) :]
    outputs = [o for inst in (*split.train, *split.eval) for o in inst.outputs]
    return FewShotTask(
        name=split.name,
        encoding=spec.name,
        seed=seed,
        train=tuple(example_from_prompt(p, tokenizer, bos, max_length) for p in train_prompts),
        eval_prompts=eval_prompts,
        references=tuple(tuple(o.strip() for o in inst.outputs) for inst in split.eval),
        prefix=bos + eval_prompts[0].prefix,
        labels=label_set(split.task),
        max_new_tokens=max_new_tokens_for(tokenizer, outputs, cap=max_new_tokens_cap),
    )


def cycle_order(task: str, n: int, seed: int) -> tuple[int, ...]:
    """The order in which a fine-tune on ``n`` instances visits them: a permutation of ``range(n)``.

    A pure function of (task, n, seed), so every checkpoint sees the same order;
    seeded by SHA-256 so it is stable across processes and Python versions.
    """
    digest = hashlib.sha256(f"instructmtl.finetune-order:{seed}:{task}:{n}".encode()).digest()
    order = list(range(n))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return tuple(order)


def step_indices(order: Sequence[int], rows: int, step: int) -> list[int]:
    """The instances of optimizer step ``step``: the next ``rows`` of ``order``, cycling.

    Args:
        order: the cycling order (:func:`cycle_order`); its length is ``n``.
        rows: instances per step (``min(n, batch_size)``).
        step: 0-based step.
    """
    n = len(order)
    return [order[(step * rows + j) % n] for j in range(rows)]
