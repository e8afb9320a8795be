"""Sentiment families: classify short review-like sentences and words as positive or negative."""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family
from instructmtl.tasks.builtin.families._vocab import NEGATIVE_WORDS, POSITIVE_WORDS, REVIEW_SUBJECTS
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import World

CATEGORY = "Sentiment Analysis"
LABELS = ("positive", "negative")
_TEMPLATES = ("The {s} was {a}.", "What {n} {a} {s}!", "I found the {s} {a}.", "Our {s} was really {a}.")
_NEGATED = ("The {s} was not {a}.", "I did not find the {s} {a}.", "Our {s} was not {a} at all.")


def _adjective(rng: random.Random) -> tuple[str, str]:
    label = rng.choice(LABELS)
    return rng.choice(POSITIVE_WORDS if label == "positive" else NEGATIVE_WORDS), label


def _sentence(rng: random.Random, templates: tuple[str, ...], adjective: str) -> str:
    article = "an" if adjective[0] in "aeiou" else "a"
    return rng.choice(templates).format(s=rng.choice(REVIEW_SUBJECTS), a=adjective, n=article)


def _flip(label: str) -> str:
    return "negative" if label == "positive" else "positive"


def _task(
    name: str,
    definition: str,
    make_pair: Callable[[random.Random], tuple[str, str]],
    explain: Callable[[str, str], str],
) -> TaskSpec:
    return TaskSpec(
        name=name,
        family=name,
        category=CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=explain,
        labels=LABELS,
    )


def sentence_sentiment(world: World, param: None) -> TaskSpec:
    """A one-clause review."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        adjective, label = _adjective(rng)
        return _sentence(rng, _TEMPLATES, adjective), label

    return _task(
        "sentence_sentiment",
        'In this task, you are given a short review sentence. Classify its sentiment as "positive" if '
        'the writer liked what they describe, or "negative" if they did not.',
        make_pair,
        lambda i, o: (
            f'The sentence "{i}" praises its subject, so it is {o}.'
            if o == "positive"
            else f'The sentence "{i}" criticizes its subject, so it is {o}.'
        ),
    )


def negated_sentiment(world: World, param: None) -> TaskSpec:
    """A review that may negate its adjective ("not good" is negative)."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        adjective, label = _adjective(rng)
        if rng.random() < 0.5:
            return _sentence(rng, _NEGATED, adjective), _flip(label)
        return _sentence(rng, _TEMPLATES, adjective), label

    return _task(
        "negated_sentiment",
        'In this task, you are given a short review sentence that may contain a negation such as "not". '
        'Classify the sentiment of the whole sentence as "positive" or "negative"; note that a negated '
        'positive word ("not good") expresses a negative sentiment, and the other way round.',
        make_pair,
        lambda i, o: (
            f'Taking the negation into account, "{i}" is {o}.' if " not " in i else f'"{i}" has no negation and is {o}.'
        ),
    )


def word_sentiment(world: World, param: None) -> TaskSpec:
    """A single evaluative word."""
    return _task(
        "word_sentiment",
        'In this task, you are given a single adjective. Answer "positive" if it expresses approval and '
        '"negative" if it expresses disapproval.',
        _adjective,
        lambda i, o: f'"{i}" expresses {"approval" if o == "positive" else "disapproval"}, so it is {o}.',
    )


def contrast_sentiment(world: World, param: None) -> TaskSpec:
    """ "X was good, but Y was bad": the clause after "but" decides."""

    def make_pair(rng: random.Random) -> tuple[str, str]:
        first, second = rng.sample(REVIEW_SUBJECTS, 2)
        adjective, label = _adjective(rng)
        opposite = rng.choice(NEGATIVE_WORDS if label == "positive" else POSITIVE_WORDS)
        return f"The {first} was {opposite}, but the {second} was {adjective}.", label

    return _task(
        "contrast_sentiment",
        'In this task, you are given a review with two clauses joined by "but". The overall sentiment is '
        'the sentiment of the clause after "but". Answer "positive" or "negative".',
        make_pair,
        lambda i, o: f'The clause after "but" in "{i}" is {o}.',
    )


FAMILIES: tuple[Family, ...] = (
    Family("sentence_sentiment", sentence_sentiment),
    Family("negated_sentiment", negated_sentiment),
    Family("word_sentiment", word_sentiment),
    Family("contrast_sentiment", contrast_sentiment, n_default=0),
)
