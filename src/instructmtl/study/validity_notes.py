"""Validity notes: what a reader must know about a study's inputs that no pass/fail check can say.

A check has a threshold; these have none. They name where the base model came from
and what the replay text is, because both change what an early gain or a replay
effect means:

* a base model that is **already instruction-tuned** (SmolLM2-135M-Instruct is) makes
  early gains partly adaptation to this study's prompt format;
* weights **dequantized from a low-bit GGUF** make early gains partly recovery from
  quantization error;
* a real model replaying instructmtl's **built-in synthetic corpus** is not replaying
  its own pretraining data, so claim 4 ("continual pretraining helps") is then about
  training on other text.

The runner records them as the fact ``notes.validity`` at every start; the report shows
them under the checks and in ``claims.json``.
"""

from __future__ import annotations

import re

from instructmtl.corpus.config import BuiltinCorpusConfig
from instructmtl.models import ModelSpec
from instructmtl.models.sources import resolve_model_location
from instructmtl.study.config import StudyConfig

#: Name parts that mark a model as instruction- or chat-tuned (hub naming conventions).
_TUNED_NAME = re.compile(r"(instruct|[-_]it\b|[-_]chat|[-_]sft\b|tulu|alpaca|vicuna|zephyr)", re.IGNORECASE)
#: llama.cpp quantization types in GGUF file names (Q4_1, Q5_K_M, IQ3_XS ...); F16/BF16/F32 are not low-bit.
_GGUF_QUANT = re.compile(r"\b(I?Q\d(?:_[A-Z0-9]+)*)\b", re.IGNORECASE)


def base_notes(base: ModelSpec, *, builtin: bool) -> list[str]:
    """Notes on the base model's history: instruction-tuned already, dequantized from a low-bit GGUF."""
    if builtin:
        return []
    notes = []
    name = base.name_or_path
    if _TUNED_NAME.search(name):
        notes.append(
            f"The base model ({name}) is already instruction-tuned: early gains may be adaptation to this "
            "study's prompt format rather than new ability, and its own instruction data may resemble "
            "the held-out tasks."
        )
    location = resolve_model_location(base)
    if location.gguf_file is not None:
        quant = _GGUF_QUANT.search(location.gguf_file.replace(".", " "))
        if quant is not None:
            notes.append(
                f"The base model's weights were dequantized from a {quant.group(1).upper()} GGUF file "
                f"({location.gguf_file}): early gains may be recovery from quantization error."
            )
    return notes


def replay_notes(config: StudyConfig) -> list[str]:
    """Notes on replay text that is not the base model's own pretraining data."""
    if config.builtin_preset is not None:
        return []  # the built-in base was pretrained on the built-in corpus: its replay is previously seen data
    synthetic = sorted(
        a.name for a in config.arms if a.replay.ratio > 0 and isinstance(a.replay.corpus, BuiltinCorpusConfig)
    )
    if not synthetic:
        return []
    return [
        f"Replay arm(s) {', '.join(synthetic)} replay instructmtl's built-in synthetic corpus, which is not this "
        "base model's pretraining data: claim 4 then measures training on other text, not replay of "
        "previously seen data; name a corpus of the model's own kind of text in replay.corpus."
    ]


def validity_notes(config: StudyConfig, base: ModelSpec) -> list[str]:
    """Every note for a study, base model first."""
    return [*base_notes(base, builtin=config.builtin_preset is not None), *replay_notes(config)]
