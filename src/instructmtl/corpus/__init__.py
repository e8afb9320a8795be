"""Pretraining text: one interface for the built-in generator, text/JSONL files and HF datasets.

The same sources feed pretraining of the built-in base model and
continual-pretraining replay during instruction-tuning: a typed config
(:data:`SourceConfig`) names a registered source kind, :func:`build_source`
builds it, and :func:`packed_blocks` turns any source into fixed-length token
blocks, deterministically from a seed.

The same determinism lets a study audit that text without training
(:mod:`.audit`): which documents a base's pretraining or a run's replay read,
whether any held-out instance appears in them (:mod:`.scan`), and how much of
them shows held-out task families.
"""

from instructmtl.corpus.audit import (
    BASE_RECORD_FILE,
    FamilyShare,
    PackedDocument,
    PackedText,
    consumed_documents,
    family_share,
    pretraining_text,
    replay_text,
    scan_packed,
    scan_pretraining,
    scan_replay,
    unscannable_reason,
)
from instructmtl.corpus.builtin import BuiltinSource, DocumentLabel, families_in, family_categories
from instructmtl.corpus.config import (
    BuiltinCorpusConfig,
    DatasetsCorpusConfig,
    JsonlCorpusConfig,
    SourceConfig,
    TextCorpusConfig,
    excluding_families,
)
from instructmtl.corpus.files import JsonlSource, TextSource
from instructmtl.corpus.hf import DatasetsSource
from instructmtl.corpus.packing import document_ids, document_stream, packed_blocks
from instructmtl.corpus.scan import (
    HeldOutInstance,
    InstanceMatcher,
    LeakageError,
    ScanHit,
    ScanReport,
    held_out_instances,
    normalize_document,
    normalize_instance_text,
    not_checked,
    scan_documents,
    scan_labelled_documents,
)
from instructmtl.corpus.source import SOURCES, CorpusSource, build_source

# The registry is filled here, explicitly, so what exists never depends on import order.
SOURCES.add("builtin", BuiltinSource)
SOURCES.add("text", TextSource)
SOURCES.add("jsonl", JsonlSource)
SOURCES.add("datasets", DatasetsSource)

__all__ = [
    "BASE_RECORD_FILE",
    "SOURCES",
    "BuiltinCorpusConfig",
    "BuiltinSource",
    "CorpusSource",
    "DatasetsCorpusConfig",
    "DatasetsSource",
    "DocumentLabel",
    "FamilyShare",
    "HeldOutInstance",
    "InstanceMatcher",
    "JsonlCorpusConfig",
    "JsonlSource",
    "LeakageError",
    "PackedDocument",
    "PackedText",
    "ScanHit",
    "ScanReport",
    "SourceConfig",
    "TextCorpusConfig",
    "TextSource",
    "build_source",
    "consumed_documents",
    "document_ids",
    "document_stream",
    "excluding_families",
    "families_in",
    "family_categories",
    "family_share",
    "held_out_instances",
    "normalize_document",
    "normalize_instance_text",
    "not_checked",
    "packed_blocks",
    "pretraining_text",
    "replay_text",
    "scan_documents",
    "scan_labelled_documents",
    "scan_packed",
    "scan_pretraining",
    "scan_replay",
    "unscannable_reason",
]
