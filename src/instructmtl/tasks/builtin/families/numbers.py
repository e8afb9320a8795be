"""Number classification (parity, divisibility, sign, ...) and comparison families, all with closed labels."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, first_then_rest, word
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

NUMBER_CATEGORY = "Number Classification"
COMPARISON_CATEGORY = "Comparison"
YES_NO = ("yes", "no")
_DIGIT_LABELS = ("one-digit", "two-digit", "three-digit")


def _task(
    name: str,
    family: str,
    category: str,
    definition: str,
    make_pair: Callable[[random.Random], tuple[str, str]],
    explain: Callable[[str, str], str],
    labels: tuple[str, ...],
) -> TaskSpec:
    return TaskSpec(
        name=name,
        family=family,
        category=category,
        definition=definition,
        make_pair=make_pair,
        explain=explain,
        labels=labels,
    )


def even_odd(world: World, param: None) -> TaskSpec:
    """Parity of a number."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        n = rng.randint(0, 999)
        return str(n), "even" if n % 2 == 0 else "odd"

    return _task(
        "even_or_odd",
        "even_or_odd",
        NUMBER_CATEGORY,
        'In this task, you are given a non-negative integer. Classify it as "even" if it is divisible '
        'by 2 and as "odd" otherwise.',
        make_pair,
        lambda i, o: f"The last digit of {i} is {i[-1]}, so {i} is {o}.",
        ("even", "odd"),
    )


def divisible_by(world: World, k: int) -> TaskSpec:
    """Is n a multiple of k? (balanced)"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        if rng.random() < 0.5:
            return str(k * rng.randint(0, 300 // k)), "yes"
        return str(k * rng.randint(0, 300 // k) + rng.randint(1, k - 1)), "no"

    return _task(
        f"divisible_by_{k}",
        "divisible_by",
        NUMBER_CATEGORY,
        f'In this task, you are given a non-negative integer. Answer "yes" if the number is divisible '
        f'by {k} (the division leaves no remainder), and "no" otherwise.',
        make_pair,
        lambda i, o: f"{i} divided by {k} leaves the remainder {int(i) % k}, so the answer is {o}.",
        YES_NO,
    )


def digit_count(world: World, param: None) -> TaskSpec:
    """One-, two- or three-digit number."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        digits = rng.randint(1, 3)
        return str(rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)), _DIGIT_LABELS[digits - 1]

    return _task(
        "digit_count_class",
        "digit_count_class",
        NUMBER_CATEGORY,
        "In this task, you are given a non-negative integer below 1000. Classify it by the number of its "
        'digits as "one-digit", "two-digit" or "three-digit".',
        make_pair,
        lambda i, o: f"{i} is written with {len(i)} digits, so it is {o}.",
        _DIGIT_LABELS,
    )


def sign(world: World, param: None) -> TaskSpec:
    """Positive, negative or zero."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        n = 0 if rng.random() < 0.1 else rng.choice((-1, 1)) * rng.randint(1, 999)
        return str(n), "zero" if n == 0 else "positive" if n > 0 else "negative"

    return _task(
        "number_sign",
        "number_sign",
        NUMBER_CATEGORY,
        'In this task, you are given an integer. Classify it as "positive" if it is greater than zero, '
        '"negative" if it is less than zero, and "zero" if it equals zero.',
        make_pair,
        lambda i, o: f"{i} is {o}.",
        ("positive", "negative", "zero"),
    )


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


_PRIMES = tuple(n for n in range(2, 300) if _is_prime(n))
_COMPOSITES = tuple(n for n in range(2, 300) if not _is_prime(n))


def is_prime(world: World, param: None) -> TaskSpec:
    """Is n prime? (balanced)"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = rng.choice(YES_NO)
        return str(rng.choice(_PRIMES if label == "yes" else _COMPOSITES)), label

    return _task(
        "is_prime",
        "is_prime",
        NUMBER_CATEGORY,
        'In this task, you are given an integer greater than 1. Answer "yes" if it is a prime number '
        '(divisible only by 1 and itself), and "no" otherwise.',
        make_pair,
        lambda i, o: f"{i} {'is' if o == 'yes' else 'is not'} a prime number, so the answer is {o}.",
        YES_NO,
    )


def _relation(a: int, b: int) -> str:
    return "greater" if a > b else "less" if a < b else "equal"


def _explain_comparison(i: str, o: str) -> str:
    a, b = i.split(", ")
    relation = {"greater": "greater than", "less": "less than", "equal": "equal to"}[o]
    return f"{a} is {relation} {b}, so the answer is {o}."


def compare_two(world: World, param: None) -> TaskSpec:
    """First number vs second: greater / less / equal."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        a = rng.randint(0, 999)
        b = a if rng.random() < 0.15 else rng.randint(0, 999)
        return f"{a}, {b}", _relation(a, b)

    return _task(
        "compare_two_numbers",
        "compare_two_numbers",
        COMPARISON_CATEGORY,
        'In this task, you are given two integers separated by a comma. Answer "greater" if the first '
        'number is greater than the second, "less" if it is smaller, and "equal" if they are the same.',
        make_pair,
        _explain_comparison,
        ("greater", "less", "equal"),
    )


def compare_to_constant(world: World, c: int) -> TaskSpec:
    """A number vs a fixed constant."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        n = rng.randint(0, 99)
        return str(n), _relation(n, c)

    return _task(
        f"compare_to_{c}",
        "compare_to_constant",
        COMPARISON_CATEGORY,
        f'In this task, you are given an integer. Answer "greater" if it is greater than {c}, "less" '
        f'if it is less than {c}, and "equal" if it equals {c}.',
        make_pair,
        lambda i, o: f"{i} compared with {c} is {o}.",
        ("greater", "less", "equal"),
    )


def _word_pair_task(
    name: str,
    definition: str,
    judge: Callable[[str, str], str],
    explain: Callable[[str, str], str],
    labels: tuple[str, ...],
) -> TaskSpec:
    def make_pair(rng: random.Random) -> tuple[str, str]:
        a, b = word(rng), word(rng)
        return f"{a}, {b}", judge(a, b)

    return _task(name, name, COMPARISON_CATEGORY, definition, make_pair, explain, labels)


def longer_word(world: World, param: None) -> TaskSpec:
    """Which of two words has more letters."""
    return _word_pair_task(
        "longer_word",
        'In this task, you are given two words separated by a comma. Answer "first" if the first '
        'word has more letters, "second" if the second word has more letters, and "same" if they have equally '
        "many letters.",
        lambda a, b: "first" if len(a) > len(b) else "second" if len(a) < len(b) else "same",
        lambda i, o: '"{0}" has {2} letters and "{1}" has {3}, so the answer is {4}.'.format(
            *i.split(", "), *(len(w) for w in i.split(", ")), o
        ),
        ("first", "second", "same"),
    )


def alphabetical_first(world: World, param: None) -> TaskSpec:
    """Which of two words comes first in a dictionary."""
    return _word_pair_task(
        "alphabetically_first",
        'In this task, you are given two words separated by a comma. Answer "first" if '
        'the first word comes earlier in alphabetical order, "second" if the second word comes earlier, and '
        '"same" if the words are identical.',
        lambda a, b: "first" if a < b else "second" if a > b else "same",
        lambda i, o: f'In alphabetical order, the answer for "{i}" is {o}.',
        ("first", "second", "same"),
    )


FAMILIES: tuple[Family, ...] = (
    Family("even_or_odd", even_odd),
    Family("divisible_by", divisible_by, first_then_rest(3, 2, 12)),
    Family("digit_count_class", digit_count),
    Family("compare_two_numbers", compare_two),
    Family("compare_to_constant", compare_to_constant, (50, 10, 20, 30, 40, 60, 70, 80, 90)),
    Family("longer_word", longer_word),
    Family("number_sign", sign, n_default=0),
    Family("is_prime", is_prime, n_default=0),
    Family("alphabetically_first", alphabetical_first, n_default=0),
)
