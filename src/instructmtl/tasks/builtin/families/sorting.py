"""Sorting families: order numbers, words and letters, or pick the k smallest / largest."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, distinct_numbers, fmt_list, plural, word, words
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Sorting"
_NUMBERS = "In this task, you are given a list of distinct integers."
_WORDS = "In this task, you are given a sequence of lower-case words separated by spaces."


def _task(
    name: str, family: str, definition: str, make_pair: Callable[[random.Random], tuple[str, str]], says: str
) -> TaskSpec:
    return TaskSpec(
        name=name,
        family=family,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: says.format(i=i, o=o),
    )


def _number_sort(
    name: str, family: str, definition: str, fn: Callable[[list[int]], list[int]], says: str, n_min: int = 3
) -> TaskSpec:
    def make_pair(rng: random.Random) -> tuple[str, str]:
        xs = distinct_numbers(rng, n_min, n_min + 5)
        return fmt_list(xs), fmt_list(fn(xs))

    return _task(name, family, definition, make_pair, says)


def _word_sort(name: str, family: str, definition: str, fn: Callable[[list[str]], list[str]], says: str) -> TaskSpec:
    def make_pair(rng: random.Random) -> tuple[str, str]:
        ws = words(rng, 3, 6)
        return " ".join(ws), " ".join(fn(ws))

    return _task(name, family, definition, make_pair, says)


def sort_numbers(world: World, direction: str) -> TaskSpec:
    """Sort a list ascending or descending."""
    word_ = "smallest to largest" if direction == "ascending" else "largest to smallest"
    return _number_sort(
        f"sort_{direction}",
        "sort_numbers",
        f"{_NUMBERS} Sort the list from {word_} ({direction} order) and return the sorted list.",
        lambda xs: sorted(xs, reverse=direction == "descending"),
        f"Sorting {{i}} in {direction} order gives {{o}}.",
    )


def sort_words(world: World, direction: str) -> TaskSpec:
    """Sort words alphabetically (or reverse)."""
    order = "alphabetical order" if direction == "alphabetical" else "reverse alphabetical order (z to a)"
    return _word_sort(
        f"sort_words_{direction}",
        "sort_words",
        f"{_WORDS} Sort the words in {order} and return them separated by spaces.",
        lambda ws: sorted(ws, reverse=direction != "alphabetical"),
        f'In {order}, the words of "{{i}}" read "{{o}}".',
    )


def sort_by_length(world: World, param: None) -> TaskSpec:
    """Sort words by length, ties alphabetically."""
    return _word_sort(
        "sort_words_by_length",
        "sort_words_by_length",
        f"{_WORDS} Sort the words from the shortest to the longest. Words of the same length are "
        "put in alphabetical order. Return the words separated by spaces.",
        lambda ws: sorted(ws, key=lambda w: (len(w), w)),
        'From shortest to longest, the words of "{i}" read "{o}".',
    )


def sort_letters(world: World, param: None) -> TaskSpec:
    """Sort the letters of a word."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        w = word(rng)
        return w, "".join(sorted(w))

    return _task(
        "sort_letters",
        "sort_letters",
        "In this task, you are given a word. Rearrange its letters in "
        "alphabetical order and return the resulting string.",
        make_pair,
        'The letters of "{i}" in alphabetical order are "{o}".',
    )


def smallest_k(world: World, k: int) -> TaskSpec:
    """The k smallest numbers, ascending."""
    return _number_sort(
        f"smallest_{k}",
        "smallest_k",
        f"{_NUMBERS} Return the {plural(k, 'smallest number')} of the list as a list sorted in ascending order.",
        lambda xs: sorted(xs)[:k],
        f"Sorted in ascending order, the {plural(k, 'smallest number')} of {{i}} give {{o}}.",
        n_min=k + 1,
    )


def largest_k(world: World, k: int) -> TaskSpec:
    """The k largest numbers, descending."""
    return _number_sort(
        f"largest_{k}",
        "largest_k",
        f"{_NUMBERS} Return the {plural(k, 'largest number')} of the list as a list sorted in descending order.",
        lambda xs: sorted(xs, reverse=True)[:k],
        f"Sorted in descending order, the {plural(k, 'largest number')} of {{i}} give {{o}}.",
        n_min=k + 1,
    )


FAMILIES: tuple[Family, ...] = (
    Family("sort_numbers", sort_numbers, ("ascending", "descending"), n_default=2),
    Family("sort_words", sort_words, ("alphabetical", "reverse_alphabetical")),
    Family("sort_letters", sort_letters),
    Family("sort_words_by_length", sort_by_length, n_default=0),
    Family("smallest_k", smallest_k, (2, 1, 3, 4, 5), n_default=0),
    Family("largest_k", largest_k, (2, 1, 3, 4, 5), n_default=0),
)
