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

Token ids follow the scorers' rule (:func:`~instructmtl.tokenized.encode.encode_pair`
on ``prefix + query`` and the completion, no special tokens; instruction-tuning uses
the same rule), not piece-by-piece ids: a byte-level BPE splits
``"\\n\\nNow"`` differently from ``"\\n\\n"`` + ``"Now"``, and a model
fine-tuned on one segmentation and scored on the other would lose score for a
reason that has nothing to do with transfer. Training on exactly the ids
:func:`~instructmtl.evaluation.task_scoring.score_prompts` reads keeps the
fine-tuning loss and the eval target NLL one quantity, and makes the ``n = 0``
score of the ``id`` encoding the ICL score of that encoding.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from instructmtl.prompts import Prompt, TaskPrompter, fit_to_context, parse_encoding
from instructmtl.tasks.schema import Instance, Task
from instructmtl.tasks.selection import TaskSplit
from instructmtl.tokenized.examples import TrainExample, tokenize_prompt

__all__ = ["FewShotTask", "build_few_shot_task", "cycle_order", "step_indices"]

_JOIN_SLACK = 2


@dataclass(frozen=True)
class FewShotTask:
    """One held-out task under one encoding and seed, ready to fine-tune on and score.

    Attributes:
        task: the task.
        encoding: the canonical encoding name.
        seed: the seed that chose demonstrations and cycling orders.
        train: tokenized train examples, the first ``max(n)`` train instances in split order.
        eval_instances: the instances scored.
        eval_prompts: their prompts, encoded and fitted (one shared prefix).
    """

    task: Task
    encoding: str
    seed: int
    train: tuple[TrainExample, ...]
    eval_instances: tuple[Instance, ...]
    eval_prompts: tuple[Prompt, ...]

    @property
    def name(self) -> str:
        """The task's name."""
        return self.task.name

    @property
    def available(self) -> int:
        """How many train instances a fine-tune can use at most."""
        return len(self.train)


def example_from_prompt(prompt: Prompt, tokenizer: PreTrainedTokenizerBase, max_length: int) -> TrainExample:
    """Token ids of the prompt and its completion, split where the scorer splits them.

    The same tokenization instruction-tuning uses (:func:`~instructmtl.tokenized.examples.tokenize_prompt`).

    Raises:
        PromptTooLongError: when the target alone is longer than ``max_length``.
    """
    return tokenize_prompt(prompt, prompt.task, tokenizer, max_length)


def build_few_shot_task(
    split: TaskSplit, encoding: str, seed: int, max_n: int, tokenizer: PreTrainedTokenizerBase, max_length: int
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

    Raises:
        ConfigError: a ``pos-k`` encoding asks for more demonstrations than the task can give.
        PromptTooLongError: a target alone does not fit ``max_length``.
    """
    spec = parse_encoding(encoding)
    few_shot = split.train[:max_n]
    prompter = TaskPrompter(split.task, spec, seed, demo_pool=split.train[max_n:])
    # fit_to_context counts tokens piece by piece; encoding the pieces joined can take a
    # token more at each of the two joins ("\n\n" + "Now"), hence the slack
    prompts, _ = fit_to_context(prompter.encode_all([*few_shot, *split.eval]), tokenizer, max_length - _JOIN_SLACK)
    train_prompts, eval_prompts = prompts[: len(few_shot)], prompts[len(few_shot) :]
    return FewShotTask(
        task=split.task,
        encoding=spec.name,
        seed=seed,
        train=tuple(example_from_prompt(p, tokenizer, max_length) for p in train_prompts),
        eval_instances=split.eval,
        eval_prompts=eval_prompts,
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
