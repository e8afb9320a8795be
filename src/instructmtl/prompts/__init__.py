"""Prompt encodings: a task, k demonstrations and an input become prompt and target text.

Encodings are registered by name (``id``, ``def``, ``pos-k``, ``def+pos-k``) and
parsed from config names by :func:`parse_encoding`. :class:`TaskPrompter` fixes
a task's demonstrations per seed and encodes its instances into
:class:`Prompt` objects (shared prefix, query, target); :func:`fit_to_context`
makes them fit a context length. Training and evaluation share the end-of-target
convention: :data:`END_OF_TARGET` after every target, :func:`cut_generation` on
every generation.
"""

from instructmtl.prompts.demos import TaskPrompter, demonstration_rng, select_demonstrations
from instructmtl.prompts.encodings import ENCODINGS, Encoding, EncodingSpec, parse_encoding
from instructmtl.prompts.fit import FitReport, TokenCounter, fit_to_context
from instructmtl.prompts.layout import (
    END_OF_TARGET,
    TARGET_SEPARATOR,
    cut_generation,
    task_identifier,
)
from instructmtl.prompts.prompt import Prompt, encode

__all__ = [
    "ENCODINGS",
    "END_OF_TARGET",
    "TARGET_SEPARATOR",
    "Encoding",
    "EncodingSpec",
    "FitReport",
    "Prompt",
    "TaskPrompter",
    "TokenCounter",
    "cut_generation",
    "demonstration_rng",
    "encode",
    "fit_to_context",
    "parse_encoding",
    "select_demonstrations",
    "task_identifier",
]
