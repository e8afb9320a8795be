"""save_checkpoint: ordinary safetensors HF dirs, exact round trips, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from instructmtl.errors import ConfigError
from instructmtl.models.checkpoint import METADATA_FILE, is_checkpoint, read_checkpoint_metadata, save_checkpoint
from instructmtl.models.loading import LoadedModel, load_model
from instructmtl.models.spec import ModelSpec

PROMPTS = ["w1 w2 w3 w4 w5", "w6 w7", "w8 w9 w10"]


def _load(path: Path, **fields: str) -> LoadedModel:
    return load_model(ModelSpec(name_or_path=str(path), device="cpu", **fields))


def _logits(loaded: LoadedModel) -> torch.Tensor:
    batch = loaded.tokenizer(PROMPTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**batch).logits


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_round_trip_is_an_ordinary_hf_dir_with_identical_logits(tiny_model_dir: Path, tmp_path: Path) -> None:
    original = _load(tiny_model_dir)
    out = save_checkpoint(original.model, original.tokenizer, tmp_path / "ckpts" / "step-10", {"step": 10, "arm": "a"})
    files = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", METADATA_FILE} <= files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    assert _siblings(out) == ["step-10"]  # no temporary folder left behind
    assert read_checkpoint_metadata(out) == {"step": 10, "arm": "a"}
    reloaded = _load(out)
    assert torch.equal(_logits(reloaded), _logits(original))
    assert reloaded.tokenizer.pad_token == original.tokenizer.pad_token
    # Tied embeddings are stored once and tied again on load.
    with safe_open(str(out / "model.safetensors"), framework="pt") as stored:
        assert "lm_head.weight" not in stored.keys()
    assert reloaded.model.lm_head.weight is reloaded.model.model.embed_tokens.weight


def test_gguf_model_saves_as_plain_safetensors(tiny_gguf_file: Path, tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    original = _load(tiny_gguf_file, tokenizer=str(tiny_tokenizer_dir))
    out = save_checkpoint(original.model, original.tokenizer, tmp_path / "from-gguf", {"base": "tiny.gguf"})
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["tie_word_embeddings"] is True
    reloaded = _load(out)
    assert reloaded.source.gguf_file is None
    assert torch.equal(_logits(reloaded), _logits(original))
    assert reloaded.model.lm_head.weight is reloaded.model.model.embed_tokens.weight


def test_existing_checkpoint_is_replaced_whole(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = _load(tiny_model_dir)
    out = tmp_path / "out" / "ckpt"
    save_checkpoint(loaded.model, loaded.tokenizer, out, {"step": 1})
    (out / "stale.txt").write_text("from the first save")
    with torch.no_grad():
        loaded.model.model.norm.weight.mul_(2.0)
    save_checkpoint(loaded.model, loaded.tokenizer, out, {"step": 2})
    assert read_checkpoint_metadata(out) == {"step": 2}
    assert not (out / "stale.txt").exists()
    assert torch.equal(_load(out).model.model.norm.weight, loaded.model.model.norm.weight)
    assert _siblings(out) == ["ckpt"]


def test_failed_save_leaves_the_old_checkpoint_and_no_debris(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _load(tiny_model_dir)
    out = tmp_path / "out" / "ckpt"
    save_checkpoint(loaded.model, loaded.tokenizer, out, {"step": 1})

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(type(loaded.tokenizer), "save_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(loaded.model, loaded.tokenizer, out, {"step": 2})
    assert read_checkpoint_metadata(out) == {"step": 1}
    assert _siblings(out) == ["ckpt"]
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(loaded.model, loaded.tokenizer, out.parent / "never", {"step": 3})
    assert _siblings(out) == ["ckpt"]


def test_leftovers_of_a_killed_save_are_swept(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = _load(tiny_model_dir)
    out = tmp_path / "out" / "ckpt"
    # What a process killed mid-save leaves: a hidden partial folder, no checkpoint.
    partial = out.parent / ".ckpt.partial-dead1234"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")
    other = out.parent / ".ckpt-2.partial-keep"  # belongs to another checkpoint: kept
    other.mkdir()
    assert not is_checkpoint(out)
    save_checkpoint(loaded.model, loaded.tokenizer, out, {})
    assert _siblings(out) == [".ckpt-2.partial-keep", "ckpt"]
    assert is_checkpoint(out)


def test_refuses_to_overwrite_a_folder_that_is_not_a_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = _load(tiny_model_dir)
    precious = tmp_path / "results"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError) as err:
        save_checkpoint(loaded.model, loaded.tokenizer, precious, {})
    assert "not an instructmtl checkpoint" in str(err.value) and "\n" not in str(err.value)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_unserializable_metadata_fails_before_writing(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = _load(tiny_model_dir)
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        save_checkpoint(loaded.model, loaded.tokenizer, tmp_path / "out" / "ckpt", {"when": object()})
    assert not (tmp_path / "out").exists()


def test_reading_metadata_of_a_non_checkpoint_is_a_one_line_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not an instructmtl checkpoint"):
        read_checkpoint_metadata(tiny_model_dir)
