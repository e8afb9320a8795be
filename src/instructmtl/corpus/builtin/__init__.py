"""The built-in pretraining corpus, generated from the built-in world and task specs.

Three document types (see their modules): prose stating the world's facts
(:mod:`.facts`), bursty task patterns and random key → value mappings
(:mod:`.patterns`), laid out in formats that overlap with the instruction
format without equalling it (:mod:`.formats`). :class:`DocumentLabel` says
which type (and, for a pattern, which family) a generated document is.
"""

from instructmtl.corpus.builtin.formats import FORMATS, PairFormat, render_pairs
from instructmtl.corpus.builtin.source import (
    KINDS,
    BuiltinSource,
    DocumentKind,
    DocumentLabel,
    families_in,
    family_categories,
)

__all__ = [
    "FORMATS",
    "KINDS",
    "BuiltinSource",
    "DocumentKind",
    "DocumentLabel",
    "PairFormat",
    "families_in",
    "family_categories",
    "render_pairs",
]
