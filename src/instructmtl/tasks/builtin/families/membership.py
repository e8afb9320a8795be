"""Membership families: yes/no questions about whether something occurs in a list or a word.

Each ``make_pair`` draws the answer first and then an input with that answer,
so "yes" and "no" are equally frequent.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, distinct_numbers, fmt_list, words
from instructmtl.tasks.builtin.families._vocab import WORDS
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Membership"
YES_NO = ("yes", "no")


def _task(
    name: str,
    family: str,
    definition: str,
    make_pair: Callable[[random.Random], tuple[str, str]],
    explain: Callable[[str, str], str],
) -> TaskSpec:
    return TaskSpec(
        name=name,
        family=family,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=explain,
        labels=YES_NO,
    )


def _answer(rng: random.Random) -> str:
    return rng.choice(YES_NO)


def number_in_list(world: World, param: None) -> TaskSpec:
    """Is the number in the list?"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = _answer(rng)
        xs = distinct_numbers(rng, 5, 9)
        target = rng.choice(xs) if label == "yes" else xs.pop()
        return f"Number: {target}. List: {fmt_list(xs)}", label

    def explain(i: str, o: str) -> str:
        number = i.split(".")[0].removeprefix("Number: ")
        return f"{number} {'appears' if o == 'yes' else 'does not appear'} in the list, so the answer is {o}."

    return _task(
        "number_in_list",
        "number_in_list",
        'In this task, you are given a number and a list of integers. Answer "yes" if the number is an '
        'element of the list, and "no" otherwise.',
        make_pair,
        explain,
    )


def word_in_list(world: World, param: None) -> TaskSpec:
    """Is the word among the words?"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = _answer(rng)
        ws = words(rng, 4, 7)
        target = rng.choice(ws) if label == "yes" else ws.pop()
        return f"Word: {target}. Words: {' '.join(ws)}", label

    def explain(i: str, o: str) -> str:
        target = i.split(".")[0].removeprefix("Word: ")
        return f'"{target}" is {"" if o == "yes" else "not "}one of the words, so the answer is {o}.'

    return _task(
        "word_in_list",
        "word_in_list",
        'In this task, you are given a word and a sequence of words. Answer "yes" if the word occurs in '
        'the sequence, and "no" otherwise.',
        make_pair,
        explain,
    )


def contains_letter(world: World, letter: str) -> TaskSpec:
    """Does the word contain the letter?"""
    with_letter = tuple(w for w in WORDS if letter in w)
    without = tuple(w for w in WORDS if letter not in w)

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = _answer(rng)
        return rng.choice(with_letter if label == "yes" else without), label

    return _task(
        f"contains_letter_{letter}",
        "contains_letter",
        f"In this task, you are given a word. Answer \"yes\" if the word contains the letter '{letter}', "
        'and "no" otherwise.',
        make_pair,
        lambda i, o: f"\"{i}\" {'contains' if o == 'yes' else 'has no'} '{letter}', so the answer is {o}.",
    )


def has_duplicates(world: World, param: None) -> TaskSpec:
    """Does any number occur twice?"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = _answer(rng)
        xs = distinct_numbers(rng, 4, 8)
        if label == "yes":
            i, j = rng.sample(range(len(xs)), 2)
            xs[i] = xs[j]
        return fmt_list(xs), label

    return _task(
        "list_has_duplicates",
        "list_has_duplicates",
        'In this task, you are given a list of integers. Answer "yes" if some number occurs more than '
        'once in the list, and "no" if all numbers are different.',
        make_pair,
        lambda i, o: f"{'A number repeats' if o == 'yes' else 'No number repeats'} in {i}, so the answer is {o}.",
    )


FAMILIES: tuple[Family, ...] = (
    Family("number_in_list", number_in_list),
    Family("contains_letter", contains_letter, tuple("eaoirstlnc")),
    Family("list_has_duplicates", has_duplicates),
    Family("word_in_list", word_in_list, n_default=0),
)
