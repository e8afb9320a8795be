"""Fact-verification families: yes/no questions about the built-in world.

Answers are balanced: ``make_pair`` first draws the label, then an input that
has it, so a model cannot score well by always answering "no".
"""

from __future__ import annotations

import random
from collections.abc import Callable

from instructmtl.tasks.builtin.families._common import Family
from instructmtl.tasks.builtin.families.lookup import fact_sentence
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import ATTRIBUTE_VALUES, World

CATEGORY = "Fact Verification"
YES_NO = ("yes", "no")
_PREDICATES: dict[tuple[str, str], str] = {
    ("person", "job"): "works as a {v}",
    ("person", "color"): "has {v} as favourite color",
    ("person", "food"): "likes to eat {v}",
    ("animal", "color"): "is {v}",
    ("animal", "sound"): "{v}",
    ("animal", "diet"): "is a {v}",
    ("animal", "habitat"): "lives in the {v}",
    ("animal", "size"): "is {v}",
    ("city", "climate"): "has a {v} climate",
    ("city", "terrain"): "lies in {v} terrain",
}


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _balanced(yes: list[str], no: list[str]) -> Callable[[random.Random], tuple[str, str]]:
    """Draws "yes" and "no" inputs equally often (only the other side when one is empty)."""
    yes_items = tuple((i, "yes") for i in yes)
    no_items = tuple((i, "no") for i in no)

    def make_pair(rng: random.Random) -> tuple[str, str]:
        side = yes_items if (rng.random() < 0.5 and yes_items) or not no_items else no_items
        return rng.choice(side)

    return make_pair


def attribute_is(world: World, param: tuple[str, str, str]) -> TaskSpec:
    """Does this entity have this value? e.g. "Is the animal a herbivore?"."""
    kind, attribute, value = param
    entities = world.of_kind(kind)
    why = {e.name: _capital(fact_sentence(e, attribute)) for e in entities}
    yes = [e.name for e in entities if e.get(attribute) == value]
    no = [e.name for e in entities if e.get(attribute) != value]
    predicate = _PREDICATES[(kind, attribute)].format(v=value)
    noun = "an animal" if kind == "animal" else f"a {kind}"
    return TaskSpec(
        name=f"is_{kind}_{attribute}_{value}",
        family="attribute_is",
        category=CATEGORY,
        definition=f'In this task, you are given the name of {noun}. Answer "yes" if the {kind} {predicate}, '
        'and "no" otherwise.',
        make_pair=_balanced(yes, no),
        explain=lambda i, o: f"{why[i]}, so the answer is {o}.",
        labels=YES_NO,
    )


def _pair_task(world: World, name: str, definition: str, attribute: str, other_kind: str, label: str) -> TaskSpec:
    """Input "Person: X. <Label>: Y."; yes when the person's ``attribute`` is Y."""
    yes: list[str] = []
    no: list[str] = []
    why: dict[str, str] = {}
    others = [e.name for e in world.of_kind(other_kind)]
    for p in world.of_kind("person"):
        fact, truth = _capital(fact_sentence(p, attribute)), p.get(attribute)
        for other in others:
            inp = f"Person: {p.name}. {label}: {other}."
            (yes if other == truth else no).append(inp)
            why[inp] = fact
    return TaskSpec(
        name=name,
        family=name,
        category=CATEGORY,
        definition=definition,
        make_pair=_balanced(yes, no),
        explain=lambda i, o: f"{why[i]}, so the answer is {o}.",
        labels=YES_NO,
    )


def lives_in(world: World, param: None) -> TaskSpec:
    """Does this person live in this city?"""
    return _pair_task(
        world,
        "person_lives_in_city",
        'In this task, you are given the name of a person and the name of a city. Answer "yes" if '
        'the person lives in that city, and "no" otherwise.',
        "city",
        "city",
        "City",
    )


def keeps_pet(world: World, param: None) -> TaskSpec:
    """Does this person keep this animal?"""
    return _pair_task(
        world,
        "person_keeps_animal",
        'In this task, you are given the name of a person and the name of an animal. Answer "yes" '
        'if the person keeps that animal as a pet, and "no" otherwise.',
        "pet",
        "animal",
        "Animal",
    )


def _attribute_params() -> tuple[tuple[str, str, str], ...]:
    firsts = (("animal", "diet", "herbivore"), ("person", "job", "baker"))
    # the i-th value of every attribute before the (i+1)-th of any, so a larger suite mixes attributes
    rest = sorted(
        ((k, a, v) for (k, a) in _PREDICATES for v in ATTRIBUTE_VALUES[(k, a)] if (k, a, v) not in firsts),
        key=lambda p: ATTRIBUTE_VALUES[p[:2]].index(p[2]),
    )
    return firsts + tuple(rest)


FAMILIES: tuple[Family, ...] = (
    Family("attribute_is", attribute_is, _attribute_params(), n_default=2),
    Family("person_lives_in_city", lives_in),
    Family("person_keeps_animal", keeps_pet, n_default=0),
)
