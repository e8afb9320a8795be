"""Formatting families: separators, brackets, repetition and numbers written as words."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, fmt_list, number_list, word, words
from instructmtl.tasks.builtin.families._vocab import number_words
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Formatting"
_SEPARATOR_NAMES = {
    "-": "dash",
    "_": "underscore",
    "/": "slash",
    "+": "plus",
    ";": "semicolon",
    "|": "bar",
    "*": "star",
    ".": "dot",
    " ": "space",
    ",": "comma",
}
_BRACKETS = {"()": "round", "[]": "square", "{}": "curly", "<>": "angle"}
_WORDS_TO_NUMBERS = {number_words(n): n for n in range(100)}


def _task(
    name: str, family: str, definition: str, draw: Callable[[random.Random], str], fn: Callable[[str], str], says: str
) -> TaskSpec:
    def make_pair(rng: random.Random) -> tuple[str, str]:
        text = draw(rng)
        return text, fn(text)

    return TaskSpec(
        name=name,
        family=family,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: says.format(i=i, o=o),
    )


def _words_text(rng: random.Random) -> str:
    return " ".join(words(rng, 2, 5))


def join_words(world: World, sep: str) -> TaskSpec:
    """Replace the spaces between words by a separator."""
    name = _SEPARATOR_NAMES[sep]
    return _task(
        f"join_words_with_{name}",
        "join_words",
        f"In this task, you are given words separated by spaces. Join the words with the character "
        f"'{sep}' ({name}) instead of spaces and return the result.",
        _words_text,
        lambda t: sep.join(t.split()),
        f'Joining the words of "{{i}}" with \'{sep}\' gives "{{o}}".',
    )


def spell_letters(world: World, sep: str) -> TaskSpec:
    """Spell a word letter by letter with a separator."""
    name = _SEPARATOR_NAMES[sep]
    shown = "a space" if sep == " " else f"the character '{sep}' ({name})"
    return _task(
        f"spell_with_{name}",
        "spell_letters",
        f"In this task, you are given a word. Spell it out letter by letter, putting {shown} between "
        "consecutive letters.",
        word,
        sep.join,
        f'Spelled out with \'{sep}\', "{{i}}" is "{{o}}".',
    )


def wrap_brackets(world: World, pair: str) -> TaskSpec:
    """Put each word in brackets."""
    name = _BRACKETS[pair]
    return _task(
        f"wrap_in_{name}_brackets",
        "wrap_in_brackets",
        f"In this task, you are given words separated by spaces. Put every word inside {name} brackets, "
        f"like {pair[0]}word{pair[1]}, and keep the spaces between the words.",
        _words_text,
        lambda t: " ".join(f"{pair[0]}{w}{pair[1]}" for w in t.split()),
        # the template is str.format-ed later, so literal braces are doubled
        f'Wrapping each word of "{{i}}" in {pair.replace("{", "{{").replace("}", "}}")} gives "{{o}}".',
    )


def repeat_word(world: World, n: int) -> TaskSpec:
    """Repeat a word n times."""
    return _task(
        f"repeat_word_{n}_times",
        "repeat_word",
        f"In this task, you are given a word. Write the word {n} times, separated by single spaces.",
        word,
        lambda w: " ".join([w] * n),
        f'"{{i}}" written {n} times is "{{o}}".',
    )


def number_to_words(world: World, param: None) -> TaskSpec:
    """42 → forty-two."""
    return _task(
        "number_to_words",
        "number_to_words",
        "In this task, you are given an integer between 0 and 99. Write the number in English words, in "
        'lower case, joining tens and units with a hyphen (for example, 42 is "forty-two").',
        lambda rng: str(rng.randint(0, 99)),
        lambda t: number_words(int(t)),
        'The number {i} is written "{o}".',
    )


def words_to_number(world: World, param: None) -> TaskSpec:
    """forty-two → 42."""
    return _task(
        "words_to_number",
        "words_to_number",
        "In this task, you are given a number between zero and ninety-nine written in English words. "
        "Return the number written with digits.",
        lambda rng: number_words(rng.randint(0, 99)),
        lambda t: str(_WORDS_TO_NUMBERS[t]),
        '"{i}" is the number {o}.',
    )


def list_to_text(world: World, param: None) -> TaskSpec:
    """[1, 2, 3] → 1, 2 and 3."""

    def fn(text: str) -> str:
        items = text[1:-1].split(", ")
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    return _task(
        "list_to_text",
        "list_to_text",
        "In this task, you are given a list of integers in square brackets. Write the list as an English "
        'phrase: separate the numbers with commas, except the last two, which are joined by "and".',
        lambda rng: fmt_list(number_list(rng, 2, 6)),
        fn,
        'The list {i} reads "{o}".',
    )


FAMILIES: tuple[Family, ...] = (
    Family("join_words", join_words, ("-", "_", "/", "+", ";", "|", "*", ".")),
    Family("spell_letters", spell_letters, (" ", "-", ".", ",", "_", "*", "/", "|")),
    Family("number_to_words", number_to_words),
    Family("wrap_in_brackets", wrap_brackets, tuple(_BRACKETS)),
    Family("words_to_number", words_to_number, n_default=0),
    Family("repeat_word", repeat_word, (2, 3, 4, 5), n_default=0),
    Family("list_to_text", list_to_text, n_default=0),
)
