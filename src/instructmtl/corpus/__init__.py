"""Pretraining text: one interface for the built-in generator, text/JSONL files and HF datasets.

The same sources feed pretraining of the built-in base model and
continual-pretraining replay during instruction-tuning: a typed config
(:data:`SourceConfig`) names a registered source kind, :func:`build_source`
builds it, and :func:`packed_blocks` turns any source into fixed-length token
blocks, deterministically from a seed.
"""

from instructmtl.corpus.builtin import BuiltinSource
from instructmtl.corpus.config import (
    BuiltinCorpusConfig,
    DatasetsCorpusConfig,
    JsonlCorpusConfig,
    SourceConfig,
    TextCorpusConfig,
)
from instructmtl.corpus.files import JsonlSource, TextSource
from instructmtl.corpus.hf import DatasetsSource
from instructmtl.corpus.packing import document_ids, packed_blocks
from instructmtl.corpus.source import SOURCES, CorpusSource, build_source

# The registry is filled here, explicitly, so what exists never depends on import order.
SOURCES.add("builtin", BuiltinSource)
SOURCES.add("text", TextSource)
SOURCES.add("jsonl", JsonlSource)
SOURCES.add("datasets", DatasetsSource)

__all__ = [
    "SOURCES",
    "BuiltinCorpusConfig",
    "BuiltinSource",
    "CorpusSource",
    "DatasetsCorpusConfig",
    "DatasetsSource",
    "JsonlCorpusConfig",
    "JsonlSource",
    "SourceConfig",
    "TextCorpusConfig",
    "TextSource",
    "build_source",
    "document_ids",
    "packed_blocks",
]
