"""The instruction data of a run: every train instance encoded, fitted and tokenized once, then drawn by task.

Drawing is by position, not by a stateful iterator: the ``i``-th example drawn
from a task is element ``i mod n`` of a permutation seeded by (seed, task,
epoch ``i // n``). The number drawn per task (the sampler state) is therefore
the whole data position, and a resumed run continues exactly.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from transformers import PreTrainedTokenizerBase

from instructmtl.prompts import FitReport, Prompt, TaskPrompter, fit_to_context, parse_encoding
from instructmtl.tasks.selection import TaskSplit
from instructmtl.tokenized.examples import TrainExample, tokenize_prompt


@dataclass
class InstructionData:
    """Tokenized train examples per task, drawn in per-epoch permutations.

    Attributes:
        examples: task → its tokenized examples (every train instance × every encoding).
        groups: task → gradient group (the task itself, or its category).
        seed: seeds the permutations.
        fit_report: how many prompts had to be shortened to fit the context.
    """

    examples: Mapping[str, tuple[TrainExample, ...]]
    groups: Mapping[str, str]
    seed: int
    fit_report: FitReport | None = None
    _orders: dict[tuple[str, int], list[int]] = field(default_factory=dict, repr=False)

    def sizes(self) -> dict[str, int]:
        """Examples available per task (what proportional sampling is proportional to)."""
        return {task: len(items) for task, items in self.examples.items()}

    def take(self, task: str, index: int) -> TrainExample:
        """The ``index``-th example drawn from ``task`` (0-based, over the whole run)."""
        items = self.examples[task]
        epoch, position = divmod(index, len(items))
        key = (task, epoch)
        if key not in self._orders:  # a memo of a pure function of (seed, task, epoch)
            self._orders[key] = epoch_order(self.seed, task, len(items), epoch)
        return items[self._orders[key][position]]

    def drawn_instances(self, task_counts: Mapping[str, int]) -> dict[str, list[str]]:
        """Per task, the ids of the instances drawn so far, each once, in the order first drawn.

        ``task_counts`` is the run's data position (examples drawn per task); with several
        encodings an instance is drawn once per encoding, and counts once here.
        """
        drawn: dict[str, list[str]] = {}
        for task, count in sorted(task_counts.items()):
            ids = dict.fromkeys(self.take(task, i).instance_id for i in range(count))
            drawn[task] = list(ids)
        return drawn


def epoch_order(seed: int, task: str, n_examples: int, epoch: int) -> list[int]:
    """The order in which epoch ``epoch`` of a run with ``seed`` draws a task's examples.

    A pure function of its arguments, not of the arm: every arm of one seed draws a
    task's examples in the same order, and only how many it draws differs. So the
    instances the first ``m`` draws reach are the same for every arm that drew ``m``
    (what makes MTL fit comparable across arms and with the base model).
    """
    digest = hashlib.sha256(f"instructmtl.order:{seed}:{task}:{epoch}".encode()).digest()
    order = list(range(n_examples))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def first_drawn_instances(seed: int, task: str, example_instances: Sequence[str], m: int) -> list[str]:
    """The first ``m`` distinct instances a run with ``seed`` draws from ``task``, in draw order.

    Args:
        seed: the run's seed.
        task: the task name.
        example_instances: the instance id of each of the task's examples, in the order
            :func:`build_instruction_data` lays them out (every train instance under the
            first encoding, then under the next...).
        m: how many distinct instances (fewer when the task has fewer).
    """
    wanted = min(m, len(set(example_instances)))
    found: dict[str, None] = {}
    epoch = 0
    while len(found) < wanted:
        for index in epoch_order(seed, task, len(example_instances), epoch):
            found.setdefault(example_instances[index])
            if len(found) == wanted:
                break
        epoch += 1
    return list(found)


def build_instruction_data(
    tasks: Sequence[TaskSplit],
    encodings: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    group_by: str,
    seed: int,
) -> InstructionData:
    """Encodes, fits and tokenizes every train instance of every train task.

    Demonstrations (for ``pos-k`` encodings) come from the task's positive
    examples; the train instances are never their own demonstrations.

    Args:
        tasks: the train tasks with their instance split.
        encodings: prompt encoding names (each instance is encoded with each).
        tokenizer: the model's tokenizer.
        max_length: context budget; demonstrations are dropped, then inputs trimmed, to fit.
        group_by: ``"task"`` or ``"category"``.
        seed: selects demonstrations and permutations.
    """
    specs = [parse_encoding(name) for name in encodings]
    prompts: list[Prompt] = []
    for split in tasks:
        for spec in specs:
            prompts.extend(TaskPrompter(split.task, spec, seed).encode_all(split.train))
    fitted, report = fit_to_context(prompts, tokenizer, max_length)
    # the example layout first_drawn_instances relies on: per task, every train instance under
    # the first encoding, then under the next (fit_to_context keeps this order)
    groups = {s.name: (s.name if group_by == "task" else s.task.category) for s in tasks}
    by_task: dict[str, list[TrainExample]] = {s.name: [] for s in tasks}
    for prompt in fitted:
        by_task[prompt.task].append(tokenize_prompt(prompt, groups[prompt.task], tokenizer, max_length))
    return InstructionData({t: tuple(v) for t, v in by_task.items()}, groups, seed, report)
