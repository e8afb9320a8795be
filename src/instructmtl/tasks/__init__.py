"""Tasks in the Super-NaturalInstructions schema: the model, loaders, splits and the leakage check.

The built-in suite lives in :mod:`instructmtl.tasks.builtin` and is not
imported here: it imports the schema from this package, and loading SNI files
should not pay for generating tasks. ``load_tasks("builtin")`` imports it
when asked.
"""

from instructmtl.tasks.collection import Split, TaskCollection
from instructmtl.tasks.export import write_sni_dir
from instructmtl.tasks.leakage import Leak, check_leakage, find_leaks, normalize_text
from instructmtl.tasks.loaders import load_builtin, load_tasks
from instructmtl.tasks.schema import Example, Instance, OutputType, Task, label_set, output_type, to_sni_dict
from instructmtl.tasks.selection import (
    InstanceCaps,
    StudySplit,
    TaskSplit,
    make_study_split,
    partition_by_categories,
    partition_by_split,
    partition_by_tasks,
    split_instances,
)
from instructmtl.tasks.validation import task_from_sni_dict

__all__ = [
    "Example",
    "Instance",
    "InstanceCaps",
    "Leak",
    "OutputType",
    "Split",
    "StudySplit",
    "Task",
    "TaskCollection",
    "TaskSplit",
    "check_leakage",
    "find_leaks",
    "label_set",
    "load_builtin",
    "load_tasks",
    "make_study_split",
    "normalize_text",
    "output_type",
    "partition_by_categories",
    "partition_by_split",
    "partition_by_tasks",
    "split_instances",
    "task_from_sni_dict",
    "to_sni_dict",
    "write_sni_dir",
]
