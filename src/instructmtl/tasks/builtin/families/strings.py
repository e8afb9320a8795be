"""String-manipulation families: character-level edits of words and short texts."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import VOWELS, Family, plural, word, words
from instructmtl.tasks.builtin.families._vocab import WORDS
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "String Manipulation"
_WORD = "In this task, you are given a single lower-case word."
_TEXT = "In this task, you are given a short lower-case text."


def _text(rng: random.Random) -> str:
    return " ".join(words(rng, 2, 3))


def _text_with(letter: str) -> Callable[[random.Random], str]:
    """Texts of 2-3 words of which at least one contains ``letter``, so the edit is never a no-op."""
    pool = tuple(w for w in WORDS if letter in w)

    def draw(rng: random.Random) -> str:
        ws = [rng.choice(pool), *words(rng, 1, 2)]
        rng.shuffle(ws)
        return " ".join(ws)

    return draw


def _string_task(
    name: str,
    family: str,
    definition: str,
    fn: Callable[[str], str],
    says: str,
    draw: Callable[[random.Random], str] = word,
) -> TaskSpec:
    """Input ``draw(rng)`` → ``fn(input)``; ``says`` explains with {i} and {o}."""

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


def reverse_word(world: World, param: None) -> TaskSpec:
    """Reverse the letters."""
    return _string_task(
        "reverse_word",
        "reverse_word",
        f"{_WORD} Return the word spelled backwards, with its letters in reverse order.",
        lambda w: w[::-1],
        'Reading "{i}" backwards gives "{o}".',
    )


def uppercase(world: World, param: None) -> TaskSpec:
    """Upper-case every letter."""
    return _string_task(
        "uppercase",
        "uppercase",
        f"{_TEXT} Convert every letter of the text to upper case.",
        str.upper,
        'In upper case, "{i}" becomes "{o}".',
        _text,
    )


def capitalize_words(world: World, param: None) -> TaskSpec:
    """Capitalize the first letter of each word."""
    return _string_task(
        "capitalize_words",
        "capitalize_words",
        f"{_TEXT} Capitalize the first letter of every word and leave the other letters unchanged.",
        lambda t: " ".join(w.capitalize() for w in t.split()),
        'Capitalizing each word of "{i}" gives "{o}".',
        _text,
    )


def end_letter(world: World, end: str) -> TaskSpec:
    """The first or last letter of a word."""
    return _string_task(
        f"{end}_letter",
        "end_letter",
        f"{_WORD} Return only the {end} letter of the word.",
        (lambda w: w[0]) if end == "first" else (lambda w: w[-1]),
        f'The {end} letter of "{{i}}" is "{{o}}".',
    )


def prefix(world: World, k: int) -> TaskSpec:
    """The first k letters."""
    return _string_task(
        f"first_{k}_letters",
        "first_k_letters",
        f"{_WORD} Return the first {plural(k, 'letter')} of the word. If the word is shorter, return the whole word.",
        lambda w: w[:k],
        f'The first {plural(k, "letter")} of "{{i}}" are "{{o}}".',
    )


def suffix(world: World, k: int) -> TaskSpec:
    """The last k letters."""
    return _string_task(
        f"last_{k}_letters",
        "last_k_letters",
        f"{_WORD} Return the last {plural(k, 'letter')} of the word. If the word is shorter, return the whole word.",
        lambda w: w[-k:],
        f'The last {plural(k, "letter")} of "{{i}}" are "{{o}}".',
    )


def remove_vowels(world: World, param: None) -> TaskSpec:
    """Delete a, e, i, o, u."""
    return _string_task(
        "remove_vowels",
        "remove_vowels",
        f"{_WORD} Remove every vowel (a, e, i, o, u) from the word and return what is left.",
        lambda w: "".join(ch for ch in w if ch not in VOWELS),
        'Without its vowels, "{i}" becomes "{o}".',
    )


def replace_letter(world: World, pair: tuple[str, str]) -> TaskSpec:
    """Replace every x with y."""
    x, y = pair
    return _string_task(
        f"replace_{x}_with_{y}",
        "replace_letter",
        f"{_TEXT} Replace every occurrence of the letter '{x}' with the letter '{y}' and return the "
        "resulting text. Leave everything else unchanged.",
        lambda t: t.replace(x, y),
        f"Replacing each '{x}' in \"{{i}}\" with '{y}' gives \"{{o}}\".",
        _text_with(x),
    )


def remove_letter(world: World, x: str) -> TaskSpec:
    """Delete every x."""
    return _string_task(
        f"remove_letter_{x}",
        "remove_letter",
        f"{_TEXT} Remove every occurrence of the letter '{x}' and return the rest of the text unchanged.",
        lambda t: t.replace(x, ""),
        f'Removing each \'{x}\' from "{{i}}" gives "{{o}}".',
        _text_with(x),
    )


def double_letters(world: World, param: None) -> TaskSpec:
    """Write every letter twice."""
    return _string_task(
        "double_letters",
        "double_letters",
        f"{_WORD} Write every letter of the word twice in a row and return the result.",
        lambda w: "".join(ch * 2 for ch in w),
        'Doubling each letter of "{i}" gives "{o}".',
    )


def add_suffix(world: World, end: str) -> TaskSpec:
    """Append a fixed ending."""
    return _string_task(
        f"append_{end}",
        "append_suffix",
        f'{_WORD} Append the letters "{end}" to the end of the word, without changing its '
        "spelling otherwise, and return the new string.",
        lambda w: w + end,
        f'"{{i}}" followed by "{end}" is "{{o}}".',
    )


def join_two_words(world: World, param: None) -> TaskSpec:
    """Concatenate two words."""
    return _string_task(
        "concatenate_words",
        "concatenate_words",
        "In this task, you are given two words separated by a space. Join them into one string by removing the space.",
        lambda t: t.replace(" ", ""),
        'Removing the space from "{i}" gives "{o}".',
        lambda rng: " ".join(words(rng, 2, 2)),
    )


_REPLACEMENTS = (
    ("a", "o"),
    ("e", "i"),
    ("o", "u"),
    ("s", "z"),
    ("r", "l"),
    ("t", "d"),
    ("i", "y"),
    ("n", "m"),
    ("l", "r"),
    ("a", "e"),
    ("e", "a"),
    ("o", "a"),
    ("u", "o"),
    ("s", "c"),
    ("t", "p"),
    ("d", "t"),
    ("c", "k"),
    ("b", "p"),
    ("m", "n"),
    ("i", "e"),
)

FAMILIES: tuple[Family, ...] = (
    Family("reverse_word", reverse_word),
    Family("uppercase", uppercase),
    Family("end_letter", end_letter, ("last", "first")),
    Family("first_k_letters", prefix, (3, 2, 4, 5)),
    Family("remove_vowels", remove_vowels),
    Family("replace_letter", replace_letter, _REPLACEMENTS),
    Family("last_k_letters", suffix, (2, 3, 4, 5), n_default=0),
    Family("remove_letter", remove_letter, tuple("aeiorstlnc"), n_default=0),
    Family("double_letters", double_letters, n_default=0),
    Family("append_suffix", add_suffix, ("ing", "ed", "er", "ly", "ness", "ful"), n_default=0),
    Family("concatenate_words", join_two_words, n_default=0),
    Family("capitalize_words", capitalize_words, n_default=0),
)
