"""Validity notes: the base model's history and what replay text is, named in every study."""

from __future__ import annotations

import pytest

from instructmtl.study.config import load_study_config
from instructmtl.study.validity_notes import validity_notes


def test_the_smollm2_preset_is_noted_as_instruction_tuned_and_dequantized() -> None:
    config = load_study_config("smollm2-sni")
    notes = validity_notes(config, config.base)
    assert len(notes) == 2  # its replay arm streams SmolLM2's own pretraining text: no note for that
    assert "already instruction-tuned" in notes[0] and "SmolLM2-135M-Instruct" in notes[0]
    assert "dequantized from a Q4_1 GGUF file" in notes[1]


def test_a_real_model_replaying_the_builtin_corpus_is_noted() -> None:
    config = load_study_config("smollm2-sni", ["arms.4.replay.corpus={kind: builtin}"])
    notes = validity_notes(config, config.base)
    assert "proportional-replay" in notes[-1] and "not this base model's pretraining data" in notes[-1]


def test_the_builtin_base_needs_no_note() -> None:
    """The built-in base was pretrained on the built-in corpus: its replay is previously seen data."""
    config = load_study_config("default")
    assert validity_notes(config, config.base) == []


@pytest.mark.parametrize(
    ("name", "tuned"),
    [
        ("EleutherAI/pythia-410m", False),
        ("Qwen/Qwen2.5-0.5B-Instruct", True),
        ("google/gemma-2-2b-it", True),
        ("org/model-chat", True),
        ("org/italian-base", False),
    ],
)
def test_instruction_tuned_names(name: str, tuned: bool) -> None:
    config = load_study_config("gpu", [f"base.name_or_path={name}"])
    notes = validity_notes(config, config.base)
    assert any("already instruction-tuned" in n for n in notes) is tuned
