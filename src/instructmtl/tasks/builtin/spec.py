"""What one built-in task is before it becomes SNI data: a generator of (input, output) pairs.

The suite (:mod:`instructmtl.tasks.builtin.suite`) turns each spec into an SNI
:class:`~instructmtl.tasks.schema.Task`; the built-in corpus renders the same
``make_pair`` functions as implicit patterns without instructions, so that the
pretrained model has seen the *kinds* of transformations the held-out tasks
need, but never their instruction format.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    """One built-in task.

    Attributes:
        name: unique task name, SNI style (e.g. ``"builtin042_list_reverse"``).
        family: the parametric family it belongs to (e.g. ``"caesar_cipher"``); tasks of a
            family share a transformation and differ by parameter.
        category: SNI-like category (e.g. ``"List Manipulation"``); held-out splits
            choose whole categories.
        definition: the natural-language instruction, written like an SNI definition.
        make_pair: draws one (input, output) pair from ``rng``; deterministic given the rng state.
        explain: writes the explanation of a positive example from its (input, output).
        labels: the closed label set for classification tasks, ``None`` for generation.
    """

    name: str
    family: str
    category: str
    definition: str
    make_pair: Callable[[random.Random], tuple[str, str]]
    explain: Callable[[str, str], str]
    labels: tuple[str, ...] | None = None
