"""One small generic registry per kind of plug-in (samplers, aggregators, metrics, ...).

Plug-ins are chosen by name in configs, so a typo must fail at config time
with a helpful message, not deep inside a run; hence close-match suggestions
(as lm-evaluation-harness does) and a hard error on duplicate names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from instructmtl.errors import InstructMTLError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object mapping for one kind of plug-in.

    Args:
        kind: what is registered, used in error messages (e.g. ``"task sampler"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its target under ``name``.

        Raises:
            InstructMTLError: if ``name`` is already taken.
        """

        def decorate(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        """Registers ``obj`` under ``name`` (for objects that are not decorated)."""
        if name in self._entries:
            raise InstructMTLError(f"{self.kind} '{name}' is registered twice; rename one of them")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """Returns the object registered as ``name``.

        Raises:
            UnknownNameError: with the close matches and the full list of names.
        """
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'.{hint} Known: {', '.join(sorted(self._entries))}"
            ) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
