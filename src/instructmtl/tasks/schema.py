"""The Task / Instance model in the Super-NaturalInstructions (SNI) schema.

Plain frozen dataclasses rather than pydantic models: the loaders do their own
validation so that every error names the file, the field and the fix (see
:mod:`instructmtl.tasks.validation`), and a study holds hundreds of thousands of
instances, where dataclasses are cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OutputType = Literal["generation", "classification"]

#: A task whose instances use at most this many distinct outputs, each of them
#: short, is treated as classification with a closed label set when it declares none.
MAX_DETECTED_LABELS = 10
MAX_LABEL_WORDS = 4


@dataclass(frozen=True, slots=True)
class Example:
    """A demonstration from a task's ``Positive Examples`` / ``Negative Examples``."""

    input: str
    output: str
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Instance:
    """One evaluable item: an input and every acceptable output (SNI ``Instances``)."""

    id: str
    input: str
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Task:
    """A task in the SNI schema.

    ``labels`` is the closed label set of a classification task when the source
    declares one (the built-in suite does; SNI files do not, so it is detected
    from the outputs by :func:`label_set`).
    """

    name: str
    definition: str
    instances: tuple[Instance, ...]
    categories: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    input_language: tuple[str, ...] = ("English",)
    output_language: tuple[str, ...] = ("English",)
    instruction_language: tuple[str, ...] = ("English",)
    domains: tuple[str, ...] = ()
    positive_examples: tuple[Example, ...] = ()
    negative_examples: tuple[Example, ...] = ()
    labels: tuple[str, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def category(self) -> str:
        """The first category, which SNI uses as the task's category."""
        return self.categories[0] if self.categories else "Uncategorized"


def label_set(task: Task) -> tuple[str, ...] | None:
    """The closed label set of a classification task, or ``None`` for generation.

    Declared labels win. Otherwise a task is classification when its instances
    and positive examples use few distinct, short outputs and every instance has
    exactly one of them, the same rule by which SNI's own evaluation separates
    its classification tasks from free generation.

    Returns:
        The sorted labels, or ``None`` when the task is a generation task.
    """
    if task.labels is not None:
        return task.labels
    seen: set[str] = set()
    for inst in task.instances:
        if len(inst.outputs) != 1:
            return None
        seen.add(inst.outputs[0].strip())
    seen.update(ex.output.strip() for ex in task.positive_examples)
    if not 2 <= len(seen) <= MAX_DETECTED_LABELS:
        return None
    if any(len(label.split()) > MAX_LABEL_WORDS for label in seen):
        return None
    # a label set only makes sense when labels repeat; otherwise it's short generation
    if len(task.instances) < 2 * len(seen):
        return None
    return tuple(sorted(seen))


def output_type(task: Task) -> OutputType:
    """``"classification"`` when the task has a closed label set, else ``"generation"``."""
    return "classification" if label_set(task) is not None else "generation"


def to_sni_dict(task: Task) -> dict[str, Any]:
    """The task as an SNI task-file JSON object (the inverse of the SNI loader)."""

    def examples(items: tuple[Example, ...]) -> list[dict[str, str]]:
        return [{"input": e.input, "output": e.output, "explanation": e.explanation} for e in items]

    data: dict[str, Any] = {
        "Contributors": ["instructmtl"],
        "Source": list(task.source),
        "URL": [],
        "Categories": list(task.categories),
        "Reasoning": [],
        "Definition": [task.definition],
        "Input_language": list(task.input_language),
        "Output_language": list(task.output_language),
        "Instruction_language": list(task.instruction_language),
        "Domains": list(task.domains),
        "Positive Examples": examples(task.positive_examples),
        "Negative Examples": examples(task.negative_examples),
        "Instances": [{"id": i.id, "input": i.input, "output": list(i.outputs)} for i in task.instances],
    }
    if task.labels is not None:
        # not an SNI field; SNI readers ignore unknown keys, ours reads it back
        data["Labels"] = list(task.labels)
    return data
