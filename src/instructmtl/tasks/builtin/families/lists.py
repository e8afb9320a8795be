"""List-manipulation families: select, reorder and filter the elements of an integer list."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import (
    Family,
    distinct_numbers,
    fmt_list,
    number_list,
    ordinal,
    plural,
)
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "List Manipulation"
_GIVEN = "In this task, you are given a list of integers."


def _list_task(
    name: str,
    family: str,
    definition: str,
    draw: Callable[[random.Random], list[int]],
    transform: Callable[[list[int]], object],
    says: str,
) -> TaskSpec:
    """A task whose output is ``transform`` of a drawn list; ``says`` phrases the explanation with {i} and {o}."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        xs = draw(rng)
        out = transform(xs)
        return fmt_list(xs), fmt_list(out) if isinstance(out, list) else str(out)

    return TaskSpec(
        name=name,
        family=family,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: says.format(i=i, o=o),
    )


def list_reverse(world: World, param: None) -> TaskSpec:
    """Reverse the list."""
    return _list_task(
        "list_reverse",
        "list_reverse",
        f"{_GIVEN} You need to return the same elements in reverse order, from the last element to the first.",
        number_list,
        lambda xs: xs[::-1],
        "Reversing {i} gives {o}.",
    )


def list_first_k(world: World, k: int) -> TaskSpec:
    """Keep the first ``k`` elements."""
    return _list_task(
        f"list_first_{k}",
        "list_first_k",
        f"{_GIVEN} Your task is to return the first {plural(k, 'element')} of the list, in their original order.",
        lambda rng: number_list(rng, k + 1, k + 5),
        lambda xs: xs[:k],
        f"Taking the first {plural(k, 'element')} of {{i}} gives {{o}}.",
    )


def list_last_k(world: World, k: int) -> TaskSpec:
    """Keep the last ``k`` elements."""
    return _list_task(
        f"list_last_{k}",
        "list_last_k",
        f"{_GIVEN} Your task is to return the last {plural(k, 'element')} of the list, in their original order.",
        lambda rng: number_list(rng, k + 1, k + 5),
        lambda xs: xs[-k:],
        f"Taking the last {plural(k, 'element')} of {{i}} gives {{o}}.",
    )


def list_element_at(world: World, i: int) -> TaskSpec:
    """Return the element at 1-based position ``i``."""
    return _list_task(
        f"list_element_at_{i}",
        "list_element_at",
        f"{_GIVEN} Return the {ordinal(i)} element of the list. The first element is at position 1. "
        "Output only the number.",
        lambda rng: number_list(rng, i + 1, i + 5),
        lambda xs: xs[i - 1],
        f"The {ordinal(i)} element of {{i}} is {{o}}.",
    )


def list_rotate(world: World, k: int) -> TaskSpec:
    """Move the first ``k`` elements to the end."""
    return _list_task(
        f"list_rotate_left_{k}",
        "list_rotate_left",
        f"{_GIVEN} Rotate the list to the left by {k}: move the first {plural(k, 'element')} to the end of the list, "
        "keeping the order of all elements otherwise.",
        lambda rng: number_list(rng, k + 2, k + 6),
        lambda xs: xs[k:] + xs[:k],
        f"Moving the first {plural(k, 'element')} of {{i}} to the end gives {{o}}.",
    )


def list_keep_parity(world: World, parity: str) -> TaskSpec:
    """Keep only the even (or odd) elements."""
    rest = 0 if parity == "even" else 1
    return _list_task(
        f"list_keep_{parity}",
        "list_keep_parity",
        f"{_GIVEN} Remove every number that is not {parity} and return the list of the {parity} numbers in "
        'their original order. If there is no such number, return an empty list "[]".',
        number_list,
        lambda xs: [x for x in xs if x % 2 == rest],
        f"Keeping only the {parity} numbers of {{i}} gives {{o}}.",
    )


def list_filter_above(world: World, t: int) -> TaskSpec:
    """Keep only the elements greater than ``t``."""
    return _list_task(
        f"list_keep_above_{t}",
        "list_keep_above",
        f"{_GIVEN} Return the list of the numbers that are greater than {t}, in their original order. "
        'If no number is greater than it, return an empty list "[]".',
        number_list,
        lambda xs: [x for x in xs if x > t],
        f"Keeping only the numbers above {t} in {{i}} gives {{o}}.",
    )


def list_unique(world: World, param: None) -> TaskSpec:
    """Drop repeated elements, keeping first occurrences."""
    return _list_task(
        "list_remove_duplicates",
        "list_remove_duplicates",
        f"{_GIVEN} Some numbers appear more than once. Remove the repeated numbers so that each number appears "
        "only once, keeping the first occurrence of each, and return the resulting list.",
        lambda rng: number_list(rng, 5, 9, 0, 9),
        lambda xs: list(dict.fromkeys(xs)),
        "Removing the repeats from {i} gives {o}.",
    )


def list_swap_ends(world: World, param: None) -> TaskSpec:
    """Swap the first and the last element."""
    return _list_task(
        "list_swap_first_last",
        "list_swap_first_last",
        f"{_GIVEN} Swap the first element and the last element of the list and return the new list.",
        distinct_numbers,
        lambda xs: [xs[-1], *xs[1:-1], xs[0]],
        "Swapping the ends of {i} gives {o}.",
    )


FAMILIES: tuple[Family, ...] = (
    Family("list_reverse", list_reverse),
    Family("list_first_k", list_first_k, (3, 1, 2, 4, 5, 6, 7, 8, 9)),
    Family("list_last_k", list_last_k, (2, 1, 3, 4, 5, 6, 7, 8, 9)),
    Family("list_element_at", list_element_at, (2, 1, 3, 4, 5, 6, 7, 8, 9)),
    Family("list_rotate_left", list_rotate, (1, 2, 3, 4, 5), n_default=0),
    Family("list_keep_parity", list_keep_parity, ("even", "odd")),
    Family("list_keep_above", list_filter_above, (50, 10, 20, 30, 40, 60, 70, 80, 90), n_default=0),
    Family("list_remove_duplicates", list_unique),
    Family("list_swap_first_last", list_swap_ends, n_default=0),
)
