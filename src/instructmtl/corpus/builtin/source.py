"""The built-in corpus as a source: an endless, seeded mix of facts, task patterns and random mappings."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator

from instructmtl.corpus.builtin.facts import facts_document
from instructmtl.corpus.builtin.patterns import random_mapping_document, task_pattern_document
from instructmtl.corpus.config import BuiltinCorpusConfig
from instructmtl.errors import ConfigError
from instructmtl.tasks.builtin import MAX_TASKS, TaskSpec, build_world, task_specs


class BuiltinSource:
    """Generates the built-in corpus from the world of ``config.world_seed``.

    Pattern documents use every task the built-in catalog offers (not only
    the default suite), picking a family uniformly and then one of its tasks,
    so a family with many parameters does not crowd out one with few and more
    distinct mappings make memorising them pay less than learning in context.
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
        self.families: tuple[tuple[TaskSpec, ...], ...] = tuple(tuple(v) for v in by_family.values())

    def document(self, rng: random.Random) -> str:
        """One document of a type drawn by the configured weights."""
        kind = rng.choices(("facts", "patterns", "lookup"), weights=self.weights)[0]
        cfg = self.config
        if kind == "facts":
            return facts_document(self.world, rng)
        if kind == "patterns":
            spec = rng.choice(rng.choice(self.families))
            return task_pattern_document(spec, rng, cfg.min_pairs, cfg.max_pairs)
        return random_mapping_document(self.world, rng, cfg.min_pairs, cfg.max_pairs)

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields documents forever; every choice comes from ``rng``."""
        while True:
            yield self.document(rng)
