"""The small built-in "world": invented entities and their attributes.

Both the built-in task suite (lookup tasks) and the built-in pretraining
corpus (prose stating the facts) are generated from the same world, so a
model can only solve the lookup tasks from what pretraining taught it. Names
are invented from syllables so no real-world knowledge helps.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr", "st", "gl")
_NUCLEI = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "n", "r", "s", "l", "k", "m")

#: Closed value sets per (kind, attribute); values that are other entities are
#: filled in by :func:`build_world`.
ATTRIBUTE_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("animal", "color"): ("red", "blue", "green", "yellow", "black", "white"),
    ("animal", "sound"): ("barks", "hisses", "sings", "growls", "chirps", "hums"),
    ("animal", "diet"): ("herbivore", "carnivore", "omnivore"),
    ("animal", "habitat"): ("forest", "desert", "river", "mountain", "swamp"),
    ("animal", "size"): ("small", "medium", "large"),
    ("city", "climate"): ("cold", "mild", "hot"),
    ("city", "terrain"): ("coast", "valley", "plain", "hills"),
    ("person", "job"): ("baker", "farmer", "doctor", "teacher", "sailor", "painter", "miner", "weaver"),
    ("person", "color"): ("red", "blue", "green", "yellow", "black", "white"),
    ("person", "food"): ("bread", "rice", "fish", "apples", "cheese", "soup", "beans"),
    ("country", "language"): ("Alvish", "Borran", "Cuzic", "Dremian"),
    ("country", "continent"): ("north", "south", "east", "west"),
}

#: Attributes whose values are entities of another kind (person → city → country, person → pet).
ENTITY_ATTRIBUTES: dict[tuple[str, str], str] = {
    ("person", "city"): "city",
    ("person", "pet"): "animal",
    ("city", "country"): "country",
}

KIND_COUNTS: dict[str, int] = {"country": 6, "city": 18, "animal": 24, "person": 48}


@dataclass(frozen=True, slots=True)
class Entity:
    """A named thing of one kind with one value per attribute of its kind."""

    name: str
    kind: str
    attributes: tuple[tuple[str, str], ...]

    def get(self, attribute: str) -> str:
        """The value of ``attribute``; a KeyError names the entity when it has none."""
        for key, value in self.attributes:
            if key == attribute:
                return value
        raise KeyError(f"{self.kind} {self.name} has no attribute {attribute!r}")


@dataclass(frozen=True, slots=True)
class World:
    """All entities, deterministic from ``seed``."""

    seed: int
    entities: tuple[Entity, ...]

    def of_kind(self, kind: str) -> tuple[Entity, ...]:
        """Entities of one kind, in a fixed order."""
        return tuple(e for e in self.entities if e.kind == kind)

    def entity(self, name: str) -> Entity:
        """The entity called ``name``."""
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(f"no entity named {name!r} in the built-in world")

    def values(self, kind: str, attribute: str) -> tuple[str, ...]:
        """The closed set of values that ``attribute`` of ``kind`` can take."""
        if (kind, attribute) in ENTITY_ATTRIBUTES:
            return tuple(e.name for e in self.of_kind(ENTITY_ATTRIBUTES[(kind, attribute)]))
        return ATTRIBUTE_VALUES[(kind, attribute)]

    def facts(self) -> Iterator[tuple[Entity, str, str]]:
        """Every (entity, attribute, value) triple, in a fixed order."""
        for e in self.entities:
            for attribute, value in e.attributes:
                yield e, attribute, value


def _invent_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        n_syllables = rng.choice((2, 2, 3))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS) for _ in range(n_syllables))
        name = word.capitalize()
        if name not in taken and 4 <= len(name) <= 10:
            taken.add(name)
            names.append(name)
    return names


def build_world(seed: int = 0) -> World:
    """Builds the world; the same seed always gives the same entities and facts.

    Kinds are built in dependency order (countries before the cities that lie
    in them, cities and animals before the people who live there or keep them).
    """
    rng = random.Random(f"instructmtl-world-{seed}")
    taken: set[str] = set()
    by_kind: dict[str, list[Entity]] = {}
    for kind in ("country", "city", "animal", "person"):
        entities = []
        for name in _invent_names(rng, KIND_COUNTS[kind], taken):
            attrs: list[tuple[str, str]] = []
            for (k, attribute), values in ATTRIBUTE_VALUES.items():
                if k == kind:
                    attrs.append((attribute, rng.choice(values)))
            for (k, attribute), target_kind in ENTITY_ATTRIBUTES.items():
                if k == kind:
                    attrs.append((attribute, rng.choice(by_kind[target_kind]).name))
            entities.append(Entity(name=name, kind=kind, attributes=tuple(attrs)))
        by_kind[kind] = entities
    return World(seed=seed, entities=tuple(e for kind in by_kind for e in by_kind[kind]))
