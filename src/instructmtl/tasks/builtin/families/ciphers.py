"""Cipher families: letter shifts, mirrored alphabets and letter ↔ number codes."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family, first_then_rest, word, words
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Cipher"
_LOWER = string.ascii_lowercase


def _text(rng: random.Random) -> str:
    return " ".join(words(rng, 1, 2))


def _cipher_task(
    name: str,
    family: str,
    definition: str,
    fn: Callable[[str], str],
    says: str,
    draw: Callable[[random.Random], str] = _text,
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


def caesar_shift(text: str, k: int) -> str:
    """Shifts each lower-case letter ``k`` places forward, wrapping from z to a; other characters stay."""
    table = str.maketrans(_LOWER, _LOWER[k % 26 :] + _LOWER[: k % 26])
    return text.translate(table)


def caesar(world: World, k: int) -> TaskSpec:
    """Shift letters forward by k."""
    example = caesar_shift("abz", k)
    return _cipher_task(
        f"caesar_shift_{k}",
        "caesar_shift",
        f"In this task, you are given a lower-case text. Encode it with a Caesar cipher: replace "
        f"every letter by the letter {k} places later in the alphabet, wrapping around from 'z' to "
        f'\'a\' (so "abz" becomes "{example}"). Keep spaces as they are.',
        lambda t: caesar_shift(t, k),
        f'Shifting each letter of "{{i}}" by {k} gives "{{o}}".',
    )


def atbash(world: World, param: None) -> TaskSpec:
    """Mirror the alphabet: a↔z, b↔y, ..."""
    table = str.maketrans(_LOWER, _LOWER[::-1])
    return _cipher_task(
        "atbash_cipher",
        "atbash_cipher",
        "In this task, you are given a lower-case text. Encode it with the mirrored alphabet: 'a' "
        "becomes 'z', 'b' becomes 'y', 'c' becomes 'x', and so on. Keep spaces as they are.",
        lambda t: t.translate(table),
        'Mirroring each letter of "{i}" gives "{o}".',
    )


def letters_to_numbers(world: World, param: None) -> TaskSpec:
    """Each letter → its alphabet position."""
    return _cipher_task(
        "letters_to_numbers",
        "letters_to_numbers",
        "In this task, you are given a lower-case word. Replace every letter by its position in "
        "the alphabet (a=1, b=2, ..., z=26) and return the numbers separated by spaces.",
        lambda w: " ".join(str(_LOWER.index(ch) + 1) for ch in w),
        'The alphabet positions of the letters of "{i}" are {o}.',
        word,
    )


def numbers_to_letters(world: World, param: None) -> TaskSpec:
    """Alphabet positions → the word."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        w = word(rng)
        return " ".join(str(_LOWER.index(ch) + 1) for ch in w), w

    return TaskSpec(
        name="numbers_to_letters",
        family="numbers_to_letters",
        category=CATEGORY,
        definition="In this task, you are given numbers separated by spaces, each between 1 and 26. "
        "Replace every number by the letter at that position in the alphabet (1=a, 2=b, ..., 26=z) and "
        "return the resulting word.",
        make_pair=make_pair,
        explain=lambda i, o: f'The numbers {i} spell "{o}".',
    )


def digit_shift(world: World, k: int) -> TaskSpec:
    """Add k to every digit modulo 10."""
    table = str.maketrans(string.digits, string.digits[k:] + string.digits[:k])
    return _cipher_task(
        f"digit_shift_{k}",
        "digit_shift",
        f"In this task, you are given a code made of digits. Encode it by adding {k} to every "
        f"digit, writing only the last digit of the sum (so 9 becomes {(9 + k) % 10}).",
        lambda t: t.translate(table),
        f"Adding {k} to each digit of {{i}} gives {{o}}.",
        lambda rng: "".join(rng.choice(string.digits) for _ in range(rng.randint(3, 7))),
    )


FAMILIES: tuple[Family, ...] = (
    Family("caesar_shift", caesar, first_then_rest(3, 1, 25)),
    Family("atbash_cipher", atbash),
    Family("letters_to_numbers", letters_to_numbers),
    Family("digit_shift", digit_shift, first_then_rest(1, 1, 9)),
    Family("numbers_to_letters", numbers_to_letters, n_default=0),
)
