"""Prose documents that state the built-in world's facts, in varied wording.

The lookup tasks of the built-in suite ask for these facts (a person's city, a
city's country, an animal's habitat ...). A model can only answer them from
what pretraining made it memorise, so every fact is stated many times across
the corpus, each time in one of several templates, the way a fact recurs in
different sentences across web text. Two document shapes alternate: a short
"biography" of one entity (with its linked entities' facts, so two-hop chains
such as person → city → country appear together), and a list of one attribute
over many entities.
"""

from __future__ import annotations

import random

from instructmtl.tasks.builtin.world import Entity, World

#: (kind, attribute) → sentence templates; ``{e}`` is the entity, ``{v}`` the value.
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("person", "city"): (
        "{e} lives in {v}.",
        "{e} is from {v}.",
        "The home town of {e} is {v}.",
        "{e} has a house in {v}.",
    ),
    ("person", "pet"): ("The pet of {e} is a {v}.", "{e} has a {v} as a pet.", "{e} keeps a {v}.", "{e} owns a {v}."),
    ("person", "job"): ("{e} works as a {v}.", "{e} is a {v}.", "The job of {e} is {v}.", "By trade, {e} is a {v}."),
    ("person", "color"): ("The favorite color of {e} is {v}.", "{e} likes the color {v}.", "{e} loves {v} things."),
    ("person", "food"): ("{e} likes to eat {v}.", "The favorite food of {e} is {v}.", "{e} eats {v} every day."),
    ("city", "country"): (
        "{e} is a city in {v}.",
        "{e} lies in {v}.",
        "The city of {e} is in {v}.",
        "{v} has a city called {e}.",
    ),
    ("city", "climate"): ("The climate of {e} is {v}.", "{e} has a {v} climate.", "The weather in {e} is {v}."),
    ("city", "terrain"): ("{e} is built on the {v}.", "The land around {e} is {v}.", "{e} is a town of the {v}."),
    ("animal", "color"): ("The {e} is {v}.", "A {e} is {v} in color.", "The color of the {e} is {v}."),
    ("animal", "sound"): ("The {e} {v}.", "A {e} {v} at night.", "When it is happy, the {e} {v}."),
    ("animal", "diet"): ("The {e} is a {v}.", "A {e} is a {v}.", "The diet of the {e} makes it a {v}."),
    ("animal", "habitat"): (
        "The {e} lives in the {v}.",
        "A {e} is found in the {v}.",
        "The home of the {e} is the {v}.",
    ),
    ("animal", "size"): ("The {e} is {v}.", "A {e} is a {v} animal.", "The size of the {e} is {v}."),
    ("country", "language"): ("People in {e} speak {v}.", "The language of {e} is {v}.", "{v} is spoken in {e}."),
    ("country", "continent"): ("{e} is in the {v}.", "{e} lies in the {v}.", "The land of {e} is in the {v}."),
}

#: Entity-valued attributes whose target's facts a biography also states.
_LINKS = {("person", "city"), ("person", "pet"), ("city", "country")}


def fact_sentence(entity: Entity, attribute: str, value: str, rng: random.Random) -> str:
    """One fact in one randomly chosen wording.

    Raises:
        KeyError: when the world gained an attribute that has no template here.
    """
    template = rng.choice(TEMPLATES[(entity.kind, attribute)])
    sentence = template.format(e=entity.name, v=value)
    return sentence[0].upper() + sentence[1:]


def biography(world: World, entity: Entity, rng: random.Random) -> str:
    """Several facts about one entity, then about the entities it links to (city, pet, country)."""
    sentences: list[str] = []
    attributes = list(entity.attributes)
    rng.shuffle(attributes)
    for attribute, value in attributes:
        sentences.append(fact_sentence(entity, attribute, value, rng))
        if (entity.kind, attribute) in _LINKS and rng.random() < 0.5:
            linked = world.entity(value)
            linked_attribute, linked_value = rng.choice(linked.attributes)
            sentences.append(fact_sentence(linked, linked_attribute, linked_value, rng))
    return " ".join(sentences)


def attribute_list(world: World, rng: random.Random, n_min: int = 4, n_max: int = 10) -> str:
    """One attribute stated for several entities of the same kind, one sentence per line."""
    kind, attribute = rng.choice(list(TEMPLATES))
    entities = rng.sample(world.of_kind(kind), min(len(world.of_kind(kind)), rng.randint(n_min, n_max)))
    template = rng.choice(TEMPLATES[(kind, attribute)])
    lines = []
    for e in entities:
        sentence = template.format(e=e.name, v=e.get(attribute))
        lines.append(sentence[0].upper() + sentence[1:])
    return "\n".join(lines)


def facts_document(world: World, rng: random.Random) -> str:
    """A biography of a random entity or a list of one attribute, about evenly often."""
    if rng.random() < 0.5:
        return biography(world, rng.choice(world.entities), rng)
    return attribute_list(world, rng)
