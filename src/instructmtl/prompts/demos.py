"""Choosing a task's demonstrations once, and encoding all its instances with them.

Demonstrations are fixed per (task, seed) so that every instance of a task
shares one prefix (one KV cache per task at evaluation) and so that a model is
compared with another on the same demonstrations. They come from the task's
positive examples first, in file order (so ``def+pos-2`` shows the first two, as
Tk-Instruct does), then, when k asks for more, from a pool of the task's *train*
instances drawn with a seeded RNG.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from instructmtl.errors import ConfigError, SplitError
from instructmtl.prompts.encodings import EncodingSpec
from instructmtl.prompts.prompt import Prompt, encode, render_demonstrations
from instructmtl.tasks.schema import Example, Instance, Task


def demonstration_rng(task_name: str, seed: int) -> random.Random:
    """The RNG that draws a task's demonstrations from its pool.

    Seeded by (seed, task name) so that one task's draw does not depend on which
    other tasks were drawn before it; ``random.Random`` seeds from a string
    through SHA-512, so this is stable across processes (unlike ``hash``).
    """
    return random.Random(f"demonstrations:{seed}:{task_name}")


def select_demonstrations(
    task: Task, k: int, seed: int, pool: Sequence[Instance] = ()
) -> tuple[tuple[Example, ...], frozenset[str]]:
    """Picks ``k`` demonstrations: positive examples first, then pool instances.

    Args:
        task: the task.
        k: how many demonstrations.
        seed: selects which pool instances are drawn (positive examples do not depend on it).
        pool: the task's train instances, used only when ``k`` exceeds the positive
            examples; drawn in id order so the caller's ordering does not matter.

    Returns:
        The demonstrations in prompt order, and the ids of the pool instances a
        draw could take (empty when the pool was not needed): no instance in that
        set may be encoded with these demonstrations.

    Raises:
        ConfigError: fewer than ``k`` positive examples and pool instances together.
    """
    positives = task.positive_examples[:k]
    missing = k - len(positives)
    if missing == 0:
        return positives, frozenset()
    if missing > len(pool):
        raise ConfigError(
            f"task '{task.name}': {k} demonstrations asked for, but it has "
            f"{len(task.positive_examples)} positive examples and {len(pool)} train instances "
            "to draw from; lower k in the prompt encoding or give the task more train instances"
        )
    ordered = sorted(pool, key=lambda inst: inst.id)
    drawn = demonstration_rng(task.name, seed).sample(ordered, missing)
    extra = tuple(Example(input=inst.input, output=inst.outputs[0]) for inst in drawn)
    return positives + extra, frozenset(inst.id for inst in pool)


class TaskPrompter:
    """Encodes every instance of one task with the same, fixed demonstrations.

    Args:
        task: the task.
        encoding: the parsed encoding.
        seed: selects the demonstrations drawn from ``demo_pool``.
        demo_pool: the task's train instances, used when ``encoding.k`` exceeds
            the task's positive examples.
    """

    def __init__(self, task: Task, encoding: EncodingSpec, seed: int, demo_pool: Sequence[Instance] = ()) -> None:
        self.task = task
        self.encoding = encoding
        self.demonstrations, self._pool_ids = select_demonstrations(task, encoding.k, seed, demo_pool)
        self.prefix = encoding.encoding.header(task) + "".join(render_demonstrations(self.demonstrations))

    def encode(self, instance: Instance | Example) -> Prompt:
        """Encodes one instance; its prefix is :attr:`prefix`.

        Raises:
            SplitError: the instance is in the demonstration pool this prompter
                drew from, so it could be its own demonstration (a caller bug:
                pass a pool without the instances you encode, e.g. the train
                instances when encoding eval instances), or a task example that
                is one of the demonstrations is encoded.
        """
        if isinstance(instance, Example) and instance in self.demonstrations:
            raise SplitError(
                f"task '{self.task.name}': a positive example is encoded with '{self.encoding}' "
                "while it is one of the demonstrations; encode instances, or lower k"
            )
        if isinstance(instance, Instance) and instance.id in self._pool_ids:
            raise SplitError(
                f"task '{self.task.name}': instance '{instance.id}' is encoded with "
                f"'{self.encoding}' while it is in the demonstration pool; draw "
                "demonstrations from instances that are not encoded (e.g. train instances "
                "for eval prompts)"
            )
        return encode(self.task, instance, self.encoding, self.demonstrations)

    def encode_all(self, instances: Sequence[Instance | Example]) -> tuple[Prompt, ...]:
        """Encodes several instances (see :meth:`encode`)."""
        return tuple(self.encode(inst) for inst in instances)
