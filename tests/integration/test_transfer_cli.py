"""``instructmtl transfer`` end to end on the real SNI subset and the built-in suite, with a tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from instructmtl.cli import app

pytestmark = pytest.mark.slow

SNI_TASKS = ("task391_causal_relationship", "task1153_bard_analogical_reasoning_affordance")


@pytest.fixture(scope="module")
def other_checkpoint(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with noise added, saved as a second checkpoint of the same base."""
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    out = tmp_path_factory.mktemp("other")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_lm_dir).save_pretrained(out)
    return out


def test_transfer_on_the_sni_subset_prints_scores_and_transfer(
    tiny_lm_dir: Path, other_checkpoint: Path, sni_dir: Path, tmp_path: Path
) -> None:
    predictions = tmp_path / "predictions.jsonl"
    args = [
        "transfer",
        "--base",
        str(tiny_lm_dir),
        "--checkpoint",
        str(other_checkpoint),
        "--tasks",
        str(sni_dir),
        "--n",
        "0,2",
        "--steps",
        "2",
        "--max-eval-instances",
        "3",
        "--device",
        "cpu",
        "--json",
        "--predictions",
        str(predictions),
        "--workers",
        "2",
    ]  # grid chunks and scorings side by side
    for name in SNI_TASKS:
        args += ["--task", name]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    keys = {(s["checkpoint"], s["task"], s["n"]) for s in out["scores"]}
    assert keys == {(c, t, n) for c in (str(tiny_lm_dir), str(other_checkpoint)) for t in SNI_TASKS for n in (0, 2)}
    metrics = {s["task"]: set() for s in out["scores"]}
    for s in out["scores"]:
        metrics[s["task"]].add(s["metric"])
        assert s["n_instances"] == {"": 3, "a": 2, "b": 1}[s["subset"]]  # all eval instances, and two halves
    assert {"accuracy", "target_nll"} <= metrics["task391_causal_relationship"]
    assert {"rouge_l", "exact_match", "target_nll"} <= metrics["task1153_bard_analogical_reasoning_affordance"]
    transfer = {(d["task"], d["n"], d["metric"]): d["value"] for d in out["transfer"]}
    scores = {(s["checkpoint"], s["task"], s["n"], s["metric"]): s["value"] for s in out["scores"] if not s["subset"]}
    key = ("task391_causal_relationship", 2, "target_nll")
    assert transfer[key] == pytest.approx(scores[(str(other_checkpoint), *key)] - scores[(str(tiny_lm_dir), *key)])
    lines = predictions.read_text().splitlines()
    assert len(lines) == 2 * 2 * 2 * 3  # checkpoints x tasks x n x instances


def test_transfer_on_the_builtin_suite_prints_a_table(tiny_lm_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "transfer",
            "--checkpoint",
            str(tiny_lm_dir),
            "--tasks",
            "builtin",
            "--n",
            "0,1",
            "--steps",
            "1",
            "--max-eval-instances",
            "2",
            "--task",
            "builtin051_sentence_sentiment",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    # rich wraps long cells at the runner's 80 columns, so look for short pieces only
    assert "fine-tuned scores" in result.stdout and "accuracy" in result.stdout and "builtin051" in result.stdout


def test_unknown_held_out_task_is_one_line_error(tiny_lm_dir: Path) -> None:
    result = CliRunner().invoke(app, ["transfer", "--checkpoint", str(tiny_lm_dir), "--task", "no_such_task"])
    assert result.exit_code != 0
    assert "no_such_task" in str(result.exception) and "\n" not in str(result.exception)


def test_a_checkpoint_given_twice_is_one_line_error(tiny_lm_dir: Path) -> None:
    result = CliRunner().invoke(app, ["transfer", "--checkpoint", str(tiny_lm_dir), "--checkpoint", str(tiny_lm_dir)])
    assert result.exit_code != 0
    assert "given twice" in str(result.exception) and "\n" not in str(result.exception)
