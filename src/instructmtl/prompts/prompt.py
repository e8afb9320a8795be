"""A prompt as the three pieces every consumer needs: shared prefix, query, target.

Training, ICL evaluation and fine-tuning transfer all turn a (task, instance)
into text through :func:`encode`, so the three never disagree about a layout.
The pieces are kept apart because:

* the **prefix** (identifier/definition and demonstrations) is the same for
  every instance of a task, so evaluation computes its KV cache once per task;
* the **query** is the instance part, ending right before the target;
* the **target** is what the loss and the metrics look at.

Token counts and token ids of a prompt are those of its pieces tokenized one by
one (prefix, query, completion), the way a prefix cache must see them; a
consumer that tokenizes ``text + completion`` in one go may get a different
segmentation at the two boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from instructmtl.prompts.encodings import EncodingSpec
from instructmtl.prompts.layout import END_OF_TARGET, demonstration_block, query_text, target_text
from instructmtl.tasks.schema import Example, Instance, Task


@dataclass(frozen=True, slots=True)
class Prompt:
    """One encoded instance.

    The prefix is stored as its parts (``header`` and the rendered
    ``demonstrations``) and the query as the shown ``input``, so that
    :func:`~instructmtl.prompts.fit.fit_to_context` can drop demonstrations and
    trim the input without re-reading the task.

    Attributes:
        task: the task name.
        encoding: the canonical encoding name asked for (e.g. ``"def+pos-2"``); a
            prompt fitted to a context may show fewer demonstrations than it says.
        instance_id: the instance's id; ``""`` when a task example was encoded.
        header: the identifier or definition block (``""`` for ``pos-k``).
        demonstrations: the rendered demonstration blocks, in prompt order.
        input: the instance input as shown, stripped (possibly trimmed to fit).
        target: the text to predict: a leading space and the first acceptable
            output, stripped; no end marker (see :attr:`completion`).
    """

    task: str
    encoding: str
    instance_id: str
    header: str
    demonstrations: tuple[str, ...]
    input: str
    target: str

    @property
    def prefix(self) -> str:
        """The part every instance of the task shares."""
        return self.header + "".join(self.demonstrations)

    @property
    def query(self) -> str:
        """The instance part, ending right before the target (in ``"Output:"``)."""
        return query_text(self.input)

    @property
    def text(self) -> str:
        """The whole prompt: ``prefix + query``."""
        return self.prefix + self.query

    @property
    def completion(self) -> str:
        """What training teaches the model to write after :attr:`text`: target and end marker."""
        return self.target + END_OF_TARGET


def render_demonstrations(demos: Sequence[Example]) -> tuple[str, ...]:
    """The demonstration blocks of a prefix, numbered from 1 in the given order."""
    return tuple(demonstration_block(i, demo) for i, demo in enumerate(demos, start=1))


def encode(task: Task, instance: Instance | Example, encoding: EncodingSpec, demos: Sequence[Example]) -> Prompt:
    """Encodes one instance (or a task example) of ``task``.

    Most callers want :class:`~instructmtl.prompts.demos.TaskPrompter`, which
    chooses the demonstrations once per task and seed; this is the pure layout step.

    Args:
        task: the task the instance belongs to.
        instance: an instance, or an :class:`Example` (its ``output`` is the target).
        encoding: the parsed encoding.
        demos: exactly ``encoding.k`` demonstrations (none for encodings without).

    Returns:
        The prompt. For several acceptable outputs the target is the first one.

    Raises:
        ValueError: the number of demonstrations differs from ``encoding.k``.
    """
    if len(demos) != encoding.k:
        raise ValueError(f"encoding '{encoding}' shows {encoding.k} demonstrations, got {len(demos)}")
    if isinstance(instance, Instance):
        instance_id, output = instance.id, instance.outputs[0]
    else:
        instance_id, output = "", instance.output
    return Prompt(
        task=task.name,
        encoding=encoding.name,
        instance_id=instance_id,
        header=encoding.encoding.header(task),
        demonstrations=render_demonstrations(demos),
        input=instance.input.strip(),
        target=target_text(output),
    )
