"""The pretrain workflow end to end on the micro preset: the loss falls, the cache and --out work, the CLI reports."""

from __future__ import annotations

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from instructmtl.cli import app
from instructmtl.errors import ConfigError
from instructmtl.models.builtin import METADATA_FILE, PretrainRecipe
from instructmtl.workflows.pretrain import PretrainConfig, cache_path, main, read_metadata

RECIPE = PretrainRecipe(preset="micro", steps=40)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    # module scope runs before the autouse per-test cache fixture, so point the cache at the same place here
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTRUCTMTL_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return main(PretrainConfig(recipe=RECIPE, show_progress=False))


def test_training_lowers_the_loss_and_saves_a_plain_hf_model(trained):
    assert trained.source == "trained"
    meta = trained.metadata
    assert meta.steps == 40 and meta.tokens_seen == 40 * 8 * 128
    first, last = meta.loss_curve[0][1], meta.final_loss
    assert last < first - 1.0, meta.loss_curve
    assert trained.path == cache_path(meta.key)
    files = {p.name for p in trained.path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", METADATA_FILE} <= files
    model = AutoModelForCausalLM.from_pretrained(trained.path)
    tokenizer = AutoTokenizer.from_pretrained(trained.path)
    assert sum(p.numel() for p in model.parameters()) == meta.params
    assert tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id
    assert "instructmtl pretrain --preset micro --seed 0 --steps 40" in meta.command


def test_second_call_returns_the_cached_model_without_training(trained):
    again = main(PretrainConfig(recipe=RECIPE, show_progress=False))
    assert again.source == "cache" and again.path == trained.path
    assert again.metadata == trained.metadata
    leftovers = [p for p in trained.path.parent.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_out_copies_a_found_model_and_refuses_foreign_folders(trained, tmp_path):
    out = main(PretrainConfig(recipe=RECIPE, out=tmp_path / "base", show_progress=False))
    assert out.source == "cache" and out.path == tmp_path / "base"
    assert read_metadata(out.path).key == trained.metadata.key
    with pytest.raises(ConfigError, match="already holds a base model"):
        main(PretrainConfig(recipe=RECIPE, out=tmp_path / "base", show_progress=False))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no base model"):
        main(PretrainConfig(recipe=RECIPE, out=tmp_path / "notes", force=True, show_progress=False))


def test_cli_json_reports_path_params_seconds_source(trained):
    def run(*args: str) -> dict:
        result = CliRunner().invoke(app, ["pretrain", "--preset", "micro", "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    same = run("--steps", "40")
    assert same["source"] == "cache" and same["path"] == str(trained.path)
    assert same["params"] == trained.metadata.params and same["seconds"] >= 0
    other = run("--steps", "20", "--seed", "1")
    assert other["source"] == "trained" and other["path"] != same["path"] and other["steps"] == 20
    assert run("--steps", "20", "--seed", "1")["source"] == "cache"
