"""Prompt encodings, registered by name and chosen by name in configs.

An encoding decides what a task's shared prefix shows: a task identifier, the
definition, k demonstrations, or a combination. The instance part (the query)
and the target are the same for all of them (see :mod:`.layout`).

Names carry the demonstration count: ``"pos-4"`` and ``"pos4"`` both mean the
``pos`` encoding with 4 demonstrations; ``"def+pos2"`` is the SNI standard
(Tk-Instruct's "definition + 2 positive examples"). ``k = 0`` is allowed for the
demonstration encodings so that a sweep over k can start at zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from instructmtl.errors import ConfigError, UnknownNameError
from instructmtl.prompts.layout import definition_header, identifier_header, no_header
from instructmtl.registry import Registry
from instructmtl.tasks.schema import Task

# a base name, then an optional demonstration count with an optional dash
_NAME_PATTERN = re.compile(r"^(?P<base>.*?)(?:-?(?P<k>\d+))?$")


@dataclass(frozen=True)
class Encoding:
    """One way of presenting a task before its instances.

    Attributes:
        header: writes the text before the demonstrations (identifier or definition).
        takes_demonstrations: whether the name carries a demonstration count k.
        description: one line for listings and docs.
    """

    header: Callable[[Task], str]
    takes_demonstrations: bool
    description: str


ENCODINGS: Registry[Encoding] = Registry("prompt encoding")
ENCODINGS.add(
    "id",
    Encoding(identifier_header, False, "a unique task identifier and the input; for fine-tuning"),
)
ENCODINGS.add("def", Encoding(definition_header, False, "the task definition only (zero-shot)"))
ENCODINGS.add("pos", Encoding(no_header, True, "k demonstrations, no definition"))
ENCODINGS.add(
    "def+pos",
    Encoding(definition_header, True, "definition then k demonstrations (Tk-Instruct; SNI uses k=2)"),
)


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    """A registered encoding plus its demonstration count, as parsed from a config name.

    Attributes:
        base: the registered encoding name (``"def+pos"``).
        k: the number of demonstrations; 0 for encodings that take none.
    """

    base: str
    k: int = 0

    @property
    def encoding(self) -> Encoding:
        """The registered :class:`Encoding`."""
        return ENCODINGS.get(self.base)

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``"def+pos-2"``; results are stored under it."""
        return f"{self.base}-{self.k}" if self.encoding.takes_demonstrations else self.base

    def __str__(self) -> str:
        return self.name


def parse_encoding(name: str) -> EncodingSpec:
    """Parses a config name such as ``"def"``, ``"id"``, ``"pos-4"``, ``"pos4"``, ``"def+pos2"``.

    Args:
        name: the name as written in a config.

    Returns:
        The encoding and its demonstration count.

    Raises:
        UnknownNameError: the base name is not registered (lists the close matches).
        ConfigError: a count is missing for a demonstration encoding, or given for one
            that takes none.
    """
    match = _NAME_PATTERN.match(name.strip())
    assert match is not None  # the pattern matches every string
    base, count = match["base"], match["k"]
    try:
        encoding = ENCODINGS.get(base)
    except UnknownNameError as exc:
        raise UnknownNameError(
            f"prompt encoding '{name}': {exc}; a count may follow, e.g. 'pos-4' or 'def+pos2'"
        ) from None
    if encoding.takes_demonstrations and count is None:
        raise ConfigError(f"prompt encoding '{name}' needs a demonstration count; write e.g. '{base}-2'")
    if not encoding.takes_demonstrations and count is not None:
        raise ConfigError(
            f"prompt encoding '{name}': '{base}' takes no demonstrations; write '{base}' "
            f"or use a demonstration encoding such as 'def+pos-{count}'"
        )
    return EncodingSpec(base, int(count) if count is not None else 0)
