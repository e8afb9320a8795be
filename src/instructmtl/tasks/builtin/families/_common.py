"""Small helpers shared by the task families: drawing lists and words, formatting them.

Every helper takes the ``random.Random`` it draws from, so a family's
``make_pair`` stays a pure function of the rng state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from instructmtl.tasks.builtin.families._vocab import WORDS
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

VOWELS = frozenset("aeiou")

#: Builds one task from the world and one parameter of its family.
Builder = Callable[[World, Any], TaskSpec]


@dataclass(frozen=True)
class Family:
    """A parametric family: one transformation, one task per parameter.

    Attributes:
        name: the family name (also ``TaskSpec.family`` of its tasks).
        build: makes the task for one parameter.
        params: every parameter the family offers, in a fixed order; the first
            ``n_default`` of them belong to the default suite, the rest are drawn
            round-robin when a larger suite is asked for.
        n_default: how many of ``params`` the default suite takes.
    """

    name: str
    build: Builder
    params: tuple[Hashable, ...] = (None,)
    n_default: int = 1

    def __post_init__(self) -> None:
        # a family misconfigured here would silently shift every later task number
        if not 0 <= self.n_default <= len(self.params) or len(set(self.params)) != len(self.params):
            raise ValueError(f"family {self.name}: n_default must be within params, and params unique")


def number_list(rng: random.Random, n_min: int = 4, n_max: int = 8, lo: int = 0, hi: int = 99) -> list[int]:
    """A list of ``n_min``..``n_max`` integers in ``[lo, hi]`` (repeats allowed)."""
    return [rng.randint(lo, hi) for _ in range(rng.randint(n_min, n_max))]


def distinct_numbers(rng: random.Random, n_min: int = 4, n_max: int = 8, lo: int = 0, hi: int = 99) -> list[int]:
    """Like :func:`number_list` but without repeats, so orderings are unambiguous."""
    return rng.sample(range(lo, hi + 1), rng.randint(n_min, n_max))


def fmt_list(items: Sequence[object]) -> str:
    """``[3, 1, 2]`` style, the list format SNI's list tasks use."""
    return "[" + ", ".join(str(x) for x in items) + "]"


def word(rng: random.Random) -> str:
    """One common English word."""
    return rng.choice(WORDS)


def words(rng: random.Random, n_min: int = 3, n_max: int = 6) -> list[str]:
    """Several distinct common words."""
    return rng.sample(WORDS, rng.randint(n_min, n_max))


def ordinal(n: int) -> str:
    """``1`` → ``1st``, ``2`` → ``2nd``, ``11`` → ``11th``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, noun: str) -> str:
    """``1 element`` / ``3 elements``: definitions read naturally for every parameter."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def first_then_rest(first: int, lo: int, hi: int) -> tuple[int, ...]:
    """``first``, then the other integers of ``[lo, hi]``: the default parameter leads its family."""
    return (first, *(x for x in range(lo, hi + 1) if x != first))
