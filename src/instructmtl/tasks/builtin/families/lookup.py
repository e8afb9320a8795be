"""World-lookup families: one-hop attribute lookup and multi-hop chains over the built-in world.

These tasks can only be solved from facts the pretraining corpus states in
prose, which is what makes pretraining (and forgetting it) matter. Answers are
precomputed per entity when the spec is built, so ``make_pair`` is a choice
from a tuple.
"""

from __future__ import annotations

import random

from instructmtl.tasks.builtin.families._common import Family
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.world import ENTITY_ATTRIBUTES, Entity, World

LOOKUP_CATEGORY = "Entity Lookup"
MULTIHOP_CATEGORY = "Multi-hop Lookup"
#: Value sets up to this size become a classification label set (matches the SNI label detection rule).
MAX_LABELS = 10

#: How one fact reads in an explanation; ``{s}`` is the subject, ``{v}`` the value, ``{a}`` its article.
_FACT_TEMPLATES: dict[tuple[str, str], str] = {
    ("person", "city"): "{s} lives in {v}",
    ("person", "pet"): "{s} keeps {a} {v} as a pet",
    ("person", "job"): "{s} works as {a} {v}",
    ("person", "color"): "the favourite color of {s} is {v}",
    ("person", "food"): "{s} likes to eat {v}",
    ("city", "country"): "{s} is a city in {v}",
    ("city", "climate"): "the climate of {s} is {v}",
    ("city", "terrain"): "the terrain around {s} is {v}",
    ("animal", "color"): "the color of {s} is {v}",
    ("animal", "sound"): "{s} {v}",
    ("animal", "diet"): "{s} is {a} {v}",
    ("animal", "habitat"): "{s} lives in the {v}",
    ("animal", "size"): "{s} is {v}",
    ("country", "language"): "people in {s} speak {v}",
    ("country", "continent"): "{s} lies in the {v}",
}

#: What a one-hop lookup asks for, as a definition phrase.
_LOOKUP_TARGETS: dict[tuple[str, str], str] = {
    ("person", "city"): "the city where the person lives",
    ("person", "pet"): "the animal that the person keeps as a pet",
    ("person", "job"): "the job of the person",
    ("person", "color"): "the favourite color of the person",
    ("person", "food"): "the food that the person likes to eat",
    ("city", "country"): "the country that the city is in",
    ("city", "climate"): "the climate of the city",
    ("city", "terrain"): "the terrain around the city",
    ("animal", "color"): "the color of the animal",
    ("animal", "sound"): 'the sound that the animal makes (for example "barks")',
    ("animal", "diet"): "the diet of the animal",
    ("animal", "habitat"): "the habitat where the animal lives",
    ("animal", "size"): "the size of the animal",
}

#: Multi-hop chains (start kind, attributes followed) and what they ask for.
_CHAIN_TARGETS: dict[tuple[str, tuple[str, ...]], str] = {
    ("person", ("city", "country")): "the country where the person lives",
    ("person", ("city", "country", "language")): "the language spoken in the country where the person lives",
    ("person", ("pet", "diet")): "the diet of the animal that the person keeps as a pet",
    ("person", ("city", "climate")): "the climate of the city where the person lives",
    ("person", ("city", "country", "continent")): "the part of the world where the person lives",
    ("person", ("pet", "sound")): "the sound made by the animal that the person keeps as a pet",
    ("person", ("city", "terrain")): "the terrain around the city where the person lives",
    ("person", ("pet", "habitat")): "the habitat of the animal that the person keeps as a pet",
    ("person", ("pet", "color")): "the color of the animal that the person keeps as a pet",
    ("person", ("pet", "size")): "the size of the animal that the person keeps as a pet",
    ("city", ("country", "language")): "the language spoken in the country that the city is in",
    ("city", ("country", "continent")): "the part of the world where the city lies",
}


def subject(entity: Entity) -> str:
    """How an entity is named in a sentence: animals are species, so they take "the"."""
    return f"the {entity.name}" if entity.kind == "animal" else entity.name


def fact_sentence(entity: Entity, attribute: str, value: str | None = None) -> str:
    """One fact as a plain sentence fragment, e.g. ``"Bralu lives in Tesk"``.

    Args:
        entity: the subject.
        attribute: one of the entity's attributes.
        value: the value to state; the entity's own value when ``None`` (a
            different value phrases a false statement, for yes/no tasks).
    """
    v = entity.get(attribute) if value is None else value
    article = "an" if v[0].lower() in "aeiou" else "a"
    return _FACT_TEMPLATES[(entity.kind, attribute)].format(s=subject(entity), v=v, a=article)


def resolve(world: World, entity: Entity, chain: tuple[str, ...]) -> tuple[str, list[str]]:
    """Follows ``chain`` from ``entity``; returns the final value and the facts used on the way."""
    facts: list[str] = []
    current = entity
    value = ""
    for i, attribute in enumerate(chain):
        value = current.get(attribute)
        facts.append(fact_sentence(current, attribute))
        if i + 1 < len(chain):
            if (current.kind, attribute) not in ENTITY_ATTRIBUTES:
                raise ValueError(f"chain {chain}: {attribute!r} of a {current.kind} is not an entity")
            current = world.entity(value)
    return value, facts


def _label_set(world: World, kind: str, chain: tuple[str, ...]) -> tuple[str, ...] | None:
    for attribute in chain[:-1]:
        kind = ENTITY_ATTRIBUTES[(kind, attribute)]
    values = world.values(kind, chain[-1])
    return values if len(values) <= MAX_LABELS else None


def _chain_task(world: World, kind: str, chain: tuple[str, ...], target: str, name: str, family: str) -> TaskSpec:
    """A task mapping each ``kind`` entity's name to the end of ``chain``."""
    answers: dict[str, str] = {}
    explanations: dict[str, str] = {}
    for e in world.of_kind(kind):
        answers[e.name], facts = resolve(world, e, chain)
        explanations[e.name] = ". ".join(f[0].upper() + f[1:] for f in facts) + "."
    items = tuple(answers.items())
    labels = _label_set(world, kind, chain)
    noun = "an animal" if kind == "animal" else f"a {kind}"
    answer_rule = (
        "The answer must be one of: " + ", ".join(f'"{v}"' for v in labels) + "."
        if labels is not None
        else "Answer with a single name."
    )
    definition = f"In this task, you are given the name of {noun}. Your task is to output {target}. {answer_rule}"

    def make_pair(rng: random.Random) -> tuple[str, str]:
        return rng.choice(items)

    return TaskSpec(
        name=name,
        family=family,
        category=MULTIHOP_CATEGORY if len(chain) > 1 else LOOKUP_CATEGORY,
        definition=definition,
        make_pair=make_pair,
        explain=lambda i, o: f"{explanations[i]} So the answer is {o}.",
        labels=labels,
    )


def entity_lookup(world: World, param: tuple[str, str]) -> TaskSpec:
    """One-hop: the ``attribute`` of a ``kind`` entity."""
    kind, attribute = param
    return _chain_task(world, kind, (attribute,), _LOOKUP_TARGETS[param], f"lookup_{kind}_{attribute}", "entity_lookup")


def multi_hop_lookup(world: World, param: tuple[str, tuple[str, ...]]) -> TaskSpec:
    """Two or three hops: e.g. the language of the country of the city a person lives in."""
    kind, chain = param
    return _chain_task(
        world, kind, chain, _CHAIN_TARGETS[param], f"multihop_{kind}_{'_'.join(chain)}", "multi_hop_lookup"
    )


_LOOKUP_ORDER = (
    ("person", "city"),
    ("person", "job"),
    ("animal", "diet"),
    ("animal", "sound"),
    ("city", "country"),
    ("person", "pet"),
    ("person", "color"),
    ("person", "food"),
    ("city", "climate"),
    ("city", "terrain"),
    ("animal", "color"),
    ("animal", "habitat"),
    ("animal", "size"),
)

FAMILIES: tuple[Family, ...] = (
    Family("entity_lookup", entity_lookup, _LOOKUP_ORDER, n_default=5),
    Family("multi_hop_lookup", multi_hop_lookup, tuple(_CHAIN_TARGETS), n_default=3),
)
