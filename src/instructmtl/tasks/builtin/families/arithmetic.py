"""Arithmetic families: constants applied to numbers and lists, and operations on two numbers or a list."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, first_then_rest, fmt_list, number_list
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Arithmetic"


def _task(
    name: str,
    family: str,
    definition: str,
    make_pair: Callable[[random.Random], tuple[str, str]],
    explain: Callable[[str, str], str],
) -> TaskSpec:
    return TaskSpec(
        name=name, family=family, category=CATEGORY, definition=definition, make_pair=make_pair, explain=explain
    )


def _unary(name: str, family: str, definition: str, lo: int, hi: int, fn: Callable[[int], int], says: str) -> TaskSpec:
    """A number in ``[lo, hi]`` → ``fn(number)``; ``says`` explains with {i} and {o}."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        n = rng.randint(lo, hi)
        return str(n), str(fn(n))

    return _task(name, family, definition, make_pair, lambda i, o: says.format(i=i, o=o))


def add_constant(world: World, c: int) -> TaskSpec:
    """n → n + c."""
    return _unary(
        f"add_{c}",
        "add_constant",
        f"In this task, you are given an integer. Your task is to add {c} to it and return the result.",
        0,
        499,
        lambda n: n + c,
        f"{{i}} + {c} = {{o}}.",
    )


def subtract_constant(world: World, c: int) -> TaskSpec:
    """n → n - c (never negative)."""
    return _unary(
        f"subtract_{c}",
        "subtract_constant",
        f"In this task, you are given an integer that is at least {c}. Subtract {c} from it and return the result.",
        c,
        499,
        lambda n: n - c,
        f"{{i}} - {c} = {{o}}.",
    )


def multiply_constant(world: World, c: int) -> TaskSpec:
    """n → n × c."""
    return _unary(
        f"multiply_by_{c}",
        "multiply_constant",
        f"In this task, you are given an integer. Multiply it by {c} and return the product.",
        0,
        199,
        lambda n: n * c,
        f"{{i}} times {c} is {{o}}.",
    )


def remainder(world: World, m: int) -> TaskSpec:
    """n → n mod m."""
    return _unary(
        f"remainder_mod_{m}",
        "remainder",
        f"In this task, you are given a non-negative integer. Return the remainder left when the number "
        f"is divided by {m}.",
        0,
        299,
        lambda n: n % m,
        f"{{i}} divided by {m} leaves the remainder {{o}}.",
    )


def _list_map(name: str, family: str, definition: str, fn: Callable[[int], int], says: str) -> TaskSpec:
    def make_pair(rng: random.Random) -> tuple[str, str]:
        xs = number_list(rng, 3, 6, 0, 50)
        return fmt_list(xs), fmt_list([fn(x) for x in xs])

    return _task(name, family, definition, make_pair, lambda i, o: says.format(i=i, o=o))


def list_add_constant(world: World, c: int) -> TaskSpec:
    """Add c to every element."""
    return _list_map(
        f"list_add_{c}",
        "list_add_constant",
        f"In this task, you are given a list of integers. Add {c} to every element of the list and "
        "return the new list in the same order.",
        lambda x: x + c,
        f"Adding {c} to each element of {{i}} gives {{o}}.",
    )


def list_multiply_constant(world: World, c: int) -> TaskSpec:
    """Multiply every element by c."""
    return _list_map(
        f"list_multiply_by_{c}",
        "list_multiply_constant",
        f"In this task, you are given a list of integers. Multiply every element of the list by {c} "
        "and return the new list in the same order.",
        lambda x: x * c,
        f"Multiplying each element of {{i}} by {c} gives {{o}}.",
    )


_BINARY: dict[str, tuple[str, Callable[[int, int], int], int, str]] = {
    "sum": ("Return the sum of the two numbers.", lambda a, b: a + b, 99, "{a} + {b} = {o}."),
    "difference": (
        "Subtract the second number from the first one and return the result, which may be negative.",
        lambda a, b: a - b,
        99,
        "{a} - {b} = {o}.",
    ),
    "product": ("Return the product of the two numbers.", lambda a, b: a * b, 12, "{a} times {b} is {o}."),
}


def two_numbers(world: World, op: str) -> TaskSpec:
    """Two numbers "a, b" → a op b."""
    text, fn, hi, says = _BINARY[op]

    def make_pair(rng: random.Random) -> tuple[str, str]:
        a, b = rng.randint(0, hi), rng.randint(0, hi)
        return f"{a}, {b}", str(fn(a, b))

    def explain(i: str, o: str) -> str:
        a, b = i.split(", ")
        return says.format(a=a, b=b, o=o)

    return _task(
        f"two_number_{op}",
        "two_number_arithmetic",
        f"In this task, you are given two integers separated by a comma. {text}",
        make_pair,
        explain,
    )


_LIST_REDUCE: dict[str, tuple[str, Callable[[list[int]], int], str]] = {
    "sum": ("Return the sum of all the numbers in the list.", sum, "The numbers in {i} add up to {o}."),
    "range": (
        "Return the difference between the largest and the smallest number in the list.",
        lambda xs: max(xs) - min(xs),
        "The largest minus the smallest number of {i} is {o}.",
    ),
    "maximum": ("Return the largest number in the list.", max, "The largest number in {i} is {o}."),
    "minimum": ("Return the smallest number in the list.", min, "The smallest number in {i} is {o}."),
}


def list_reduce(world: World, op: str) -> TaskSpec:
    """A list → one number (sum, range, max, min)."""
    text, fn, says = _LIST_REDUCE[op]

    def make_pair(rng: random.Random) -> tuple[str, str]:
        xs = number_list(rng, 3, 6, 0, 50)
        return fmt_list(xs), str(fn(xs))

    return _task(
        f"list_{op}",
        "list_reduce",
        f"In this task, you are given a list of integers. {text}",
        make_pair,
        lambda i, o: says.format(i=i, o=o),
    )


FAMILIES: tuple[Family, ...] = (
    Family("add_constant", add_constant, first_then_rest(5, 1, 30)),
    Family("multiply_constant", multiply_constant, first_then_rest(3, 2, 12)),
    Family("remainder", remainder, first_then_rest(3, 2, 12)),
    Family("list_add_constant", list_add_constant, first_then_rest(2, 1, 20)),
    Family("two_number_arithmetic", two_numbers, ("sum", "difference", "product"), n_default=1),
    Family("list_reduce", list_reduce, ("sum", "maximum", "range", "minimum"), n_default=1),
    Family("subtract_constant", subtract_constant, first_then_rest(4, 1, 20), n_default=0),
    Family("list_multiply_constant", list_multiply_constant, first_then_rest(2, 2, 9), n_default=0),
)
