"""The ordered catalog of built-in tasks: which (family, parameter) is task number N.

A task's number, name and content depend only on its family, its parameter
and the world, never on how many tasks a suite asks for: the catalog is one
fixed sequence and a suite of ``n`` tasks is its first ``n`` entries. The
default suite comes first, then every further parameter, each block walking
the families round-robin so that any prefix mixes many families and categories.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable

from instructmtl.errors import InstructMTLError
from instructmtl.tasks.builtin.families import FAMILIES, Family
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World


def _round_robin(blocks: list[tuple[Family, tuple[Hashable, ...]]]) -> list[tuple[Family, Hashable]]:
    entries: list[tuple[Family, Hashable]] = []
    for depth in range(max(len(params) for _, params in blocks)):
        entries.extend((family, params[depth]) for family, params in blocks if depth < len(params))
    return entries


def catalog() -> tuple[tuple[Family, Hashable], ...]:
    """Every (family, parameter) the built-in suite can use, in task-number order."""
    names = [f.name for f in FAMILIES]
    if len(set(names)) != len(names):
        raise InstructMTLError("built-in task families: a family name is used twice; rename one in families/")
    defaults = _round_robin([(f, f.params[: f.n_default]) for f in FAMILIES])
    extras = _round_robin([(f, f.params[f.n_default :]) for f in FAMILIES])
    return tuple(defaults + extras)


#: Size of the default suite: the first parameters (``n_default``) of every family.
DEFAULT_N_TASKS: int = sum(f.n_default for f in FAMILIES)
#: The most tasks the families can give.
MAX_TASKS: int = sum(len(f.params) for f in FAMILIES)


def task_specs(world: World, n_tasks: int | None = None) -> list[TaskSpec]:
    """The first ``n_tasks`` built-in tasks as pair generators.

    Args:
        world: the world that lookup tasks read their facts from.
        n_tasks: how many tasks; ``None`` gives the default suite (``DEFAULT_N_TASKS``).

    Returns:
        Specs named ``builtinNNN_<task>``, where NNN is the 1-based catalog position.

    Raises:
        InstructMTLError: if ``n_tasks`` is below 1 or above ``MAX_TASKS``.
    """
    n = DEFAULT_N_TASKS if n_tasks is None else n_tasks
    if not 1 <= n <= MAX_TASKS:
        raise InstructMTLError(
            f"n_tasks={n_tasks}: the built-in suite has between 1 and {MAX_TASKS} tasks; "
            f"set n_tasks to at most {MAX_TASKS}"
        )
    specs = []
    for number, (family, param) in enumerate(catalog()[:n], start=1):
        spec = family.build(world, param)
        specs.append(dataclasses.replace(spec, name=f"builtin{number:03d}_{spec.name}"))
    return specs
