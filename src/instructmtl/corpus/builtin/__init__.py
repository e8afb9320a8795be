"""The built-in pretraining corpus, generated from the built-in world and task specs.

Three document types (see their modules): prose stating the world's facts
(:mod:`.facts`), bursty task patterns and random key → value mappings
(:mod:`.patterns`), laid out in formats that overlap with the instruction
format without equalling it (:mod:`.formats`).
"""

from instructmtl.corpus.builtin.formats import FORMATS, PairFormat, render_pairs
from instructmtl.corpus.builtin.source import BuiltinSource

__all__ = ["FORMATS", "BuiltinSource", "PairFormat", "render_pairs"]
