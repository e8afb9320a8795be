"""Counting families: lengths, letters, words and list elements with a property."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import VOWELS, Family, fmt_list, number_list, word, words
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Counting"


def _count_task(
    name: str, family: str, definition: str, draw: Callable[[random.Random], tuple[str, int]], says: str
) -> TaskSpec:
    """``draw`` gives (input text, count); ``says`` explains with {i} and {o}."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        text, count = draw(rng)
        return text, str(count)

    return TaskSpec(
        name=name,
        family=family,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: says.format(i=i, o=o),
    )


def _text(rng: random.Random) -> str:
    return " ".join(words(rng, 2, 4))


def count_list_length(world: World, param: None) -> TaskSpec:
    """How many elements a list has."""

    def draw(rng: random.Random) -> tuple[str, int]:
        xs = number_list(rng, 1, 12)
        return fmt_list(xs), len(xs)

    return _count_task(
        "count_list_elements",
        "count_list_elements",
        "In this task, you are given a list of integers. Count how many elements the list has and return that number.",
        draw,
        "The list {i} has {o} elements.",
    )


def count_words(world: World, param: None) -> TaskSpec:
    """How many words a text has."""

    def draw(rng: random.Random) -> tuple[str, int]:
        ws = words(rng, 1, 9)
        return " ".join(ws), len(ws)

    return _count_task(
        "count_words",
        "count_words",
        "In this task, you are given a sequence of words separated by spaces. Your task is to count "
        "the words and return the count.",
        draw,
        '"{i}" consists of {o} words.',
    )


def count_letters(world: World, param: None) -> TaskSpec:
    """How many letters a word has."""

    def draw(rng: random.Random) -> tuple[str, int]:
        w = word(rng)
        return w, len(w)

    return _count_task(
        "count_letters",
        "count_letters",
        "In this task, you are given a single word. Return the number of letters in the word.",
        draw,
        'The word "{i}" has {o} letters.',
    )


def count_vowels(world: World, param: None) -> TaskSpec:
    """How many vowels a text has."""

    def draw(rng: random.Random) -> tuple[str, int]:
        text = _text(rng)
        return text, sum(ch in VOWELS for ch in text)

    return _count_task(
        "count_vowels",
        "count_vowels",
        "In this task, you are given a short text in lower case. Count the vowels (a, e, i, o, u) in "
        "the text and return the count.",
        draw,
        '"{i}" contains {o} vowels.',
    )


def count_letter(world: World, letter: str) -> TaskSpec:
    """How often one letter occurs in a text."""

    def draw(rng: random.Random) -> tuple[str, int]:
        text = _text(rng)
        return text, text.count(letter)

    return _count_task(
        f"count_letter_{letter}",
        "count_letter",
        f"In this task, you are given a short text. Count how many times the letter '{letter}' "
        "occurs in the text and return the count.",
        draw,
        f"\"{{i}}\" contains {{o}} copies of the letter '{letter}'.",
    )


def count_even(world: World, param: None) -> TaskSpec:
    """How many even elements a list has."""

    def draw(rng: random.Random) -> tuple[str, int]:
        xs = number_list(rng, 3, 9)
        return fmt_list(xs), sum(x % 2 == 0 for x in xs)

    return _count_task(
        "count_even_numbers",
        "count_even_numbers",
        "In this task, you are given a list of integers. Return how many of the numbers are even.",
        draw,
        "{o} of the numbers in {i} are even.",
    )


def count_above(world: World, t: int) -> TaskSpec:
    """How many elements are greater than ``t``."""

    def draw(rng: random.Random) -> tuple[str, int]:
        xs = number_list(rng, 3, 9)
        return fmt_list(xs), sum(x > t for x in xs)

    return _count_task(
        f"count_above_{t}",
        "count_above",
        f"In this task, you are given a list of integers. Count the numbers in the list that are "
        f"greater than {t} and return the count.",
        draw,
        f"{{o}} of the numbers in {{i}} exceed {t}.",
    )


FAMILIES: tuple[Family, ...] = (
    Family("count_list_elements", count_list_length),
    Family("count_words", count_words),
    Family("count_vowels", count_vowels),
    Family("count_letter", count_letter, tuple("eaoirstlnm")),
    Family("count_letters", count_letters, n_default=0),
    Family("count_even_numbers", count_even, n_default=0),
    Family("count_above", count_above, (50, 10, 20, 30, 40, 60, 70, 80, 90), n_default=0),
)
