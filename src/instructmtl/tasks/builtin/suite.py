"""Turns built-in task specs into SNI-schema tasks, and the default train / held-out split.

Each task draws from its own ``random.Random`` seeded by a string of the suite
seed and the task name, so a task's instances do not depend on which other
tasks are in the suite, and nothing touches the global RNG.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Collection

from instructmtl.errors import InstructMTLError, SplitError
from instructmtl.tasks.builtin.catalog import task_specs
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import build_world
from instructmtl.tasks.schema import Example, Instance, Task

SOURCE = ("instructmtl builtin",)
N_POSITIVE = 2
#: Stop drawing new inputs after this many draws in a row repeat an input: the
#: input space is then (almost surely) exhausted, e.g. a lookup over 24 animals.
PATIENCE = 300

#: Categories held out from instruction-tuning by :func:`default_split`. Whole
#: categories, so no held-out task shares its transformation with a trained one:
#: generation (Sorting, Cipher), classification (Sentiment Analysis) and world
#: facts needing two or more hops (Multi-hop Lookup; single hops are trained).
DEFAULT_HELDOUT_CATEGORIES: tuple[str, ...] = ("Sorting", "Cipher", "Multi-hop Lookup", "Sentiment Analysis")


def input_side(text: str) -> int:
    """Which half of the input space an input belongs to: 1 for held-out tasks, 0 for trained ones.

    Built-in tasks share input spaces across families (``sort_letters`` and
    ``reverse_word`` both take words), so without this a held-out task's eval
    inputs would also be train inputs of other tasks and the leakage check would
    rightly refuse the study. Splitting every input space by a hash of the
    (whitespace-normalised) input keeps the two sides disjoint for *any* choice of
    held-out categories, while a task's content still depends only on its name,
    the seed and which side it is on.
    """
    return hashlib.sha256(" ".join(text.split()).encode()).digest()[0] & 1


def _draw_unique(spec: TaskSpec, rng: random.Random, count: int, side: int) -> list[tuple[str, str]]:
    """Up to ``count`` pairs with distinct inputs on ``side``; fewer when the input space is smaller."""
    pairs: dict[str, str] = {}
    misses = 0
    while len(pairs) < count and misses < PATIENCE:
        inp, out = spec.make_pair(rng)
        if inp in pairs or input_side(inp) != side:
            misses += 1
            continue
        pairs[inp] = out
        misses = 0
    return list(pairs.items())


def _pick_positives(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The first pair plus the first later pair with a different output, so demos show two answers."""
    first = pairs[0]
    second = next((p for p in pairs[1:] if p[1] != first[1]), pairs[1])
    return [first, second]


def _negative(spec: TaskSpec, positives: list[tuple[str, str]], rng: random.Random) -> Example:
    """A wrong answer to the first positive input: another label, another demo's output, or the input."""
    inp, out = positives[0]
    if spec.labels is not None:
        wrong = rng.choice([label for label in spec.labels if label != out])
    else:
        wrong = next(c for c in (positives[1][1], inp, "none") if c != out)
    return Example(inp, wrong, f"The output {wrong!r} is wrong. {spec.explain(inp, out)}")


def build_task(spec: TaskSpec, n_instances: int, seed: int, held_out: bool = False) -> Task:
    """One SNI task from one spec.

    Args:
        spec: the task's pair generator.
        n_instances: instances wanted; a task whose input space is smaller
            than ``n_instances + 2`` (e.g. a lookup over the 24 animals) gets
            every remaining input once instead.
        seed: the suite seed.
        held_out: draw from the held-out half of the input space (see :func:`input_side`).

    Returns:
        The task with 2 positive examples (inputs never reused by instances),
        1 negative example and ids ``<task name>-<i>``.
    """
    rng = random.Random(f"instructmtl-builtin-suite-{seed}-{spec.name}")
    pairs = _draw_unique(spec, rng, n_instances + N_POSITIVE, side=int(held_out))
    if len(pairs) <= N_POSITIVE:
        raise InstructMTLError(f"built-in task {spec.name}: its input space has fewer than 3 inputs; fix its family")
    positives = _pick_positives(pairs)
    rest = [p for p in pairs if p not in positives]
    return Task(
        name=spec.name,
        definition=spec.definition,
        instances=tuple(Instance(f"{spec.name}-{i}", inp, (out,)) for i, (inp, out) in enumerate(rest)),
        categories=(spec.category,),
        source=SOURCE,
        positive_examples=tuple(Example(i, o, spec.explain(i, o)) for i, o in positives),
        negative_examples=(_negative(spec, positives, rng),),
        labels=spec.labels,
        metadata={"family": spec.family},
    )


def task_size(name: str, seed: int, low: int, high: int) -> int:
    """A trained task's instance count, log-uniform in ``[low, high]``, fixed by the suite seed and the name.

    Why: real collections (SNI) have tasks from a few dozen to thousands of instances, and
    that spread is what makes examples-proportional, temperature and uniform sampling
    different arms; with equal sizes they coincide. Drawn from a hash, so a task's size
    does not depend on which other tasks are in the suite.
    """
    digest = hashlib.sha256(f"instructmtl-builtin-size-{seed}-{name}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return round(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))


def build_suite(
    n_tasks: int | None = None,
    n_instances: int = 100,
    seed: int = 0,
    *,
    world_seed: int = 0,
    held_out_categories: Collection[str] = DEFAULT_HELDOUT_CATEGORIES,
    min_instances: int | None = None,
) -> list[Task]:
    """The built-in task suite in the SNI schema.

    Args:
        n_tasks: number of tasks; ``None`` is the default suite. A task's
            content does not depend on this number.
        n_instances: instances per task (fewer for tasks with a small input space).
        seed: draws the instances and examples.
        world_seed: the world whose facts lookup tasks ask for. Kept apart
            from ``seed`` because the pretraining corpus states the facts of
            one world; resampling instances must not change the facts.
        held_out_categories: tasks of these categories draw their inputs from the
            held-out half of every input space, the others from the trained half,
            so a study holding out exactly these categories has no leakage.
        min_instances: when given, every task outside ``held_out_categories`` gets a
            log-uniform size in ``[min_instances, n_instances]`` (:func:`task_size`);
            held-out tasks keep ``n_instances``, which their eval and few-shot sets need.

    Returns:
        The tasks in catalog order.

    Raises:
        InstructMTLError: if ``n_tasks`` is out of range or ``n_instances`` < 1.
    """
    if n_instances < 1:
        raise InstructMTLError(
            f"n_instances={n_instances}: a built-in task needs at least 1 instance; set n_instances >= 1"
        )
    if min_instances is not None and not 1 <= min_instances <= n_instances:
        raise InstructMTLError(
            f"min_instances={min_instances}: must be between 1 and n_instances ({n_instances}); lower it"
        )
    world = build_world(world_seed)
    held = set(held_out_categories)

    def size(spec: TaskSpec) -> int:
        if min_instances is None or spec.category in held:
            return n_instances
        return task_size(spec.name, seed, min_instances, n_instances)

    return [build_task(spec, size(spec), seed, held_out=spec.category in held) for spec in task_specs(world, n_tasks)]


def default_split(tasks: list[Task]) -> tuple[list[str], list[str]]:
    """Train and held-out task names: held out are the tasks of ``DEFAULT_HELDOUT_CATEGORIES``.

    Args:
        tasks: the tasks to split (normally a built-in suite).

    Returns:
        ``(train names, held-out names)``, each in the order of ``tasks``.

    Raises:
        SplitError: if either side would be empty.
    """
    held = [t.name for t in tasks if t.category in DEFAULT_HELDOUT_CATEGORIES]
    train = [t.name for t in tasks if t.category not in DEFAULT_HELDOUT_CATEGORIES]
    if not held or not train:
        raise SplitError(
            f"default split: {len(train)} train and {len(held)} held-out tasks; the tasks must include categories "
            f"both inside and outside {', '.join(DEFAULT_HELDOUT_CATEGORIES)}; use more built-in tasks or another split"
        )
    return train, held
