"""What a pretraining-text source is, and the registry that builds one from its config.

A source only yields documents (strings) in an order drawn from the RNG it is
given; tokenizing and packing are :func:`instructmtl.corpus.packing.packed_blocks`'
job, so every source (generated, files, HF datasets) is packed the same way
for pretraining and for replay.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Protocol

from instructmtl.corpus.config import SourceConfig
from instructmtl.registry import Registry


class CorpusSource(Protocol):
    """A stream of documents.

    Attributes:
        finite: ``False`` for a generator that never runs out (the built-in corpus);
            ``True`` for files and datasets, which :func:`packed_blocks` reads pass after pass.
    """

    finite: bool

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields the documents of one pass, in an order drawn from ``rng`` only.

        Args:
            rng: the only source of randomness (document order, generated content).
        """
        ...


#: Source kind (the config's ``kind``) → constructor taking that kind's config.
#: Filled explicitly in :mod:`instructmtl.corpus`.
SOURCES: Registry[Callable[..., CorpusSource]] = Registry("corpus source")


def build_source(config: SourceConfig) -> CorpusSource:
    """Builds the source that ``config`` describes.

    Raises:
        UnknownNameError: when no source is registered for ``config.kind``.
        ConfigError: when the config points at files or columns that do not exist.
    """
    return SOURCES.get(config.kind)(config)
