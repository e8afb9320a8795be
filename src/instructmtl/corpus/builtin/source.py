"""The built-in corpus as a source: an endless, seeded mix of facts, task patterns and random mappings.

Every document can be generated together with a :class:`DocumentLabel` (its
kind and, for a task pattern, the family and task it renders), so a study can
say how much of its pretraining or replay text shows a held-out task family.
The label is read off the choices the generator makes anyway: asking for it
draws nothing more from the RNG, so the text (and the shipped base model's
pretraining stream) is the same with and without labels.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal

from instructmtl.corpus.builtin.facts import facts_document
from instructmtl.corpus.builtin.patterns import random_mapping_document, task_pattern_document
from instructmtl.corpus.config import BuiltinCorpusConfig
from instructmtl.errors import ConfigError
from instructmtl.tasks.builtin import MAX_TASKS, TaskSpec, build_world, task_specs
from instructmtl.tasks.collection import close_matches_hint

DocumentKind = Literal["facts", "patterns", "lookup"]
KINDS: tuple[DocumentKind, ...] = ("facts", "patterns", "lookup")


@dataclass(frozen=True, slots=True)
class DocumentLabel:
    """What one built-in document is.

    Attributes:
        kind: ``facts`` (prose about the world), ``patterns`` (pairs of one task spec)
            or ``lookup`` (a random key → value table).
        family: the task family a ``patterns`` document renders, else ``None``.
        task: the catalog name of that task (``builtinNNN_...``, the same name the
            suite gives it), else ``None``.
    """

    kind: DocumentKind
    family: str | None = None
    task: str | None = None


def family_categories(world_seed: int = 0) -> dict[str, str]:
    """Every built-in family name → its category, in catalog order.

    Categories do not depend on the world; the seed only builds the specs that carry them.
    """
    return {spec.family: spec.category for spec in task_specs(build_world(world_seed), MAX_TASKS)}


def families_in(categories: Collection[str], world_seed: int = 0) -> tuple[str, ...]:
    """The built-in families whose category is one of ``categories``, in catalog order.

    A study holds out whole categories, so this is the family list to leave out of
    replay text for it (categories the built-in catalog lacks contribute nothing).
    """
    wanted = set(categories)
    return tuple(family for family, category in family_categories(world_seed).items() if category in wanted)


class BuiltinSource:
    """Generates the built-in corpus from the world of ``config.world_seed``.

    Pattern documents use every task the built-in catalog offers (not only
    the default suite), picking a family uniformly and then one of its tasks,
    so a family with many parameters does not crowd out one with few and more
    distinct mappings make memorising them pay less than learning in context.
    Families named in ``config.exclude_families`` are left out of that draw.
    """

    finite = False

    def __init__(self, config: BuiltinCorpusConfig) -> None:
        if config.min_pairs > config.max_pairs:
            raise ConfigError(
                f"corpus (builtin): min_pairs={config.min_pairs} > max_pairs={config.max_pairs}; swap them"
            )
        weights = (config.facts_weight, config.patterns_weight, config.lookup_weight)
        if sum(weights) <= 0:
            raise ConfigError("corpus (builtin): facts/patterns/lookup weights are all 0; make one positive")
        self.config = config
        self.weights = weights
        self.world = build_world(config.world_seed)
        by_family: dict[str, list[TaskSpec]] = defaultdict(list)
        for spec in task_specs(self.world, MAX_TASKS):
            by_family[spec.family].append(spec)
        excluded = set(config.exclude_families)
        unknown = sorted(excluded - by_family.keys())
        if unknown:
            raise ConfigError(
                f"corpus (builtin): exclude_families names unknown family '{unknown[0]}'."
                f"{close_matches_hint(unknown[0], by_family)} fix: use a family name of the built-in catalog"
            )
        # dict order is catalog order, so with nothing excluded the draw is exactly the original one
        self.families: tuple[tuple[TaskSpec, ...], ...] = tuple(
            tuple(specs) for family, specs in by_family.items() if family not in excluded
        )
        if not self.families and config.patterns_weight > 0:
            raise ConfigError(
                "corpus (builtin): exclude_families leaves no family for pattern documents; "
                "exclude fewer families or set patterns_weight: 0"
            )

    def labelled_document(self, rng: random.Random) -> tuple[str, DocumentLabel]:
        """One document of a type drawn by the configured weights, and its label."""
        kind = rng.choices(KINDS, weights=self.weights)[0]
        cfg = self.config
        if kind == "facts":
            return facts_document(self.world, rng), DocumentLabel("facts")
        if kind == "patterns":
            spec = rng.choice(rng.choice(self.families))
            text = task_pattern_document(spec, rng, cfg.min_pairs, cfg.max_pairs, cfg.trained_inputs_only)
            return text, DocumentLabel("patterns", spec.family, spec.name)
        text = random_mapping_document(self.world, rng, cfg.min_pairs, cfg.max_pairs, cfg.trained_inputs_only)
        return text, DocumentLabel("lookup")

    def document(self, rng: random.Random) -> str:
        """One document of a type drawn by the configured weights."""
        return self.labelled_document(rng)[0]

    def labelled_documents(self, rng: random.Random) -> Iterator[tuple[str, DocumentLabel]]:
        """Yields ``(text, label)`` forever; the texts are exactly those of :meth:`documents` for the same rng."""
        while True:
            yield self.labelled_document(rng)

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields documents forever; every choice comes from ``rng``."""
        while True:
            yield self.document(rng)
