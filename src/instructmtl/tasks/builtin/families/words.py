"""Word-relation (antonym, plural, tense, degree) and word-classification families."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import VOWELS, Family
from instructmtl.tasks.builtin.families._vocab import (
    ANTONYMS,
    COMPARISONS,
    PARTS_OF_SPEECH,
    PAST_TENSES,
    PLURALS,
    WORD_CATEGORIES,
    WORDS,
)
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

RELATION_CATEGORY = "Word Relation"
CLASSIFICATION_CATEGORY = "Word Classification"
YES_NO = ("yes", "no")

#: relation name → (definition, word pairs (input, output), explanation with {i} and {o})
_RELATIONS: dict[str, tuple[str, tuple[tuple[str, str], ...], str]] = {
    "antonym": (
        "Return its antonym, the word with the opposite meaning.",
        ANTONYMS + tuple((b, a) for a, b in ANTONYMS),
        'The opposite of "{i}" is "{o}".',
    ),
    "plural": ("The word is a singular noun. Return its plural form.", PLURALS, 'The plural of "{i}" is "{o}".'),
    "past_tense": (
        "The word is a verb. Return its simple past tense form.",
        PAST_TENSES,
        'The past tense of "{i}" is "{o}".',
    ),
    "comparative": (
        'The word is an adjective. Return its comparative form (for example, "tall" becomes "taller").',
        tuple((a, c) for a, c, _ in COMPARISONS),
        'The comparative of "{i}" is "{o}".',
    ),
    "superlative": (
        'The word is an adjective. Return its superlative form (for example, "tall" becomes "tallest").',
        tuple((a, s) for a, _, s in COMPARISONS),
        'The superlative of "{i}" is "{o}".',
    ),
    "singular": (
        "The word is a plural noun. Return its singular form.",
        tuple((p, s) for s, p in PLURALS if s != p),
        'The singular of "{i}" is "{o}".',
    ),
    "present_tense": (
        'The word is a verb in the simple past tense. Return its base form (for example, "walked" becomes "walk").',
        tuple((p, b) for b, p in PAST_TENSES),
        'The base form of "{i}" is "{o}".',
    ),
}


def word_relation(world: World, relation: str) -> TaskSpec:
    """Map a word to a related word."""
    text, pairs, says = _RELATIONS[relation]
    return TaskSpec(
        name=f"word_{relation}",
        family="word_relation",
        category=RELATION_CATEGORY,
        definition=f"In this task, you are given a single word. {text}",
        make_pair=lambda rng: rng.choice(pairs),
        explain=lambda i, o: says.format(i=i, o=o),
    )


def _classify(
    name: str,
    definition: str,
    make_pair: Callable[[random.Random], tuple[str, str]],
    says: str,
    labels: tuple[str, ...],
) -> TaskSpec:
    return TaskSpec(
        name=name,
        family=name,
        category=CLASSIFICATION_CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: says.format(i=i, o=o),
        labels=labels,
    )


def _labelled(groups: dict[str, tuple[str, ...]]) -> Callable[[random.Random], tuple[str, str]]:
    """Draws a label uniformly, then one of its words."""
    labels = tuple(groups)

    def make_pair(rng: random.Random) -> tuple[str, str]:
        label = rng.choice(labels)
        return rng.choice(groups[label]), label

    return make_pair


def word_category(world: World, param: None) -> TaskSpec:
    """Fruit, animal, color, tool or vehicle."""
    labels = tuple(WORD_CATEGORIES)
    return _classify(
        "word_category",
        "In this task, you are given a word. Classify it into one of these "
        f"categories: {', '.join(labels)}. Answer with the category name only.",
        _labelled(WORD_CATEGORIES),
        '"{i}" is a kind of {o}.',
        labels,
    )


def part_of_speech(world: World, param: None) -> TaskSpec:
    """Noun, verb or adjective."""
    labels = tuple(PARTS_OF_SPEECH)
    return _classify(
        "part_of_speech",
        'In this task, you are given an English word. Answer "noun", "verb" or '
        '"adjective" according to its part of speech.',
        _labelled(PARTS_OF_SPEECH),
        '"{i}" is a word of the class {o}.',
        labels,
    )


def starts_with_vowel(world: World, param: None) -> TaskSpec:
    """Does the word begin with a vowel? (balanced)"""
    groups = {"yes": tuple(w for w in WORDS if w[0] in VOWELS), "no": tuple(w for w in WORDS if w[0] not in VOWELS)}
    return _classify(
        "starts_with_vowel",
        'In this task, you are given a word. Answer "yes" if its first letter '
        'is a vowel (a, e, i, o, u), and "no" otherwise.',
        _labelled(groups),
        "\"{i}\" starts with '{i[0]}', so the answer is {o}.",
        YES_NO,
    )


def is_palindrome(world: World, param: None) -> TaskSpec:
    """Does the letter string read the same backwards? (balanced)"""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        half = "".join(rng.choice(string.ascii_lowercase[:8]) for _ in range(rng.randint(2, 3)))
        if rng.random() < 0.5:
            return half + half[-2::-1] if rng.random() < 0.5 else half + half[::-1], "yes"
        text = half + "".join(rng.sample(half, len(half)))
        return text, "yes" if text == text[::-1] else "no"

    return _classify(
        "is_palindrome",
        'In this task, you are given a string of lower-case letters. Answer "yes" '
        'if it reads the same forwards and backwards (a palindrome), and "no" otherwise.',
        make_pair,
        'Reading "{i}" backwards, the answer is {o}.',
        YES_NO,
    )


def length_class(world: World, param: None) -> TaskSpec:
    """Short (up to 4 letters) or long word."""
    groups = {"short": tuple(w for w in WORDS if len(w) <= 4), "long": tuple(w for w in WORDS if len(w) > 4)}
    return _classify(
        "word_length_class",
        'In this task, you are given a word. Answer "short" if it has at most '
        '4 letters, and "long" if it has 5 letters or more.',
        _labelled(groups),
        '"{i}" is a {o} word.',
        ("short", "long"),
    )


FAMILIES: tuple[Family, ...] = (
    Family("word_relation", word_relation, tuple(_RELATIONS), n_default=4),
    Family("word_category", word_category),
    Family("part_of_speech", part_of_speech),
    Family("starts_with_vowel", starts_with_vowel),
    Family("is_palindrome", is_palindrome, n_default=0),
    Family("word_length_class", length_class, n_default=0),
)
