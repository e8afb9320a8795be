"""The built-in task suite: SNI-schema tasks generated from code, deterministic from a seed.

Task families (lists, strings, arithmetic, ciphers, world lookups, ...) each
turn a parameter into a :class:`TaskSpec`; :func:`task_specs` numbers them from
one fixed catalog, :func:`build_suite` renders them as SNI tasks, and
:func:`default_split` holds out whole categories. The built-in corpus calls
:func:`task_specs` and each spec's ``make_pair`` to write the same mappings
into pretraining text without instructions.

Instances have unique inputs; tasks over a small input space (lookups over the
18 cities or 24 animals, fixed word lists, numbers 0-99) get every remaining
input once, so they have fewer than ``n_instances`` instances.
"""

from instructmtl.tasks.builtin.catalog import DEFAULT_N_TASKS, MAX_TASKS, task_specs
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.suite import DEFAULT_HELDOUT_CATEGORIES, build_suite, build_task, default_split
from instructmtl.tasks.builtin.world import World, build_world

__all__ = [
    "DEFAULT_HELDOUT_CATEGORIES",
    "DEFAULT_N_TASKS",
    "MAX_TASKS",
    "TaskSpec",
    "World",
    "build_suite",
    "build_task",
    "build_world",
    "default_split",
    "task_specs",
]
