"""The transfer grid on a tiny random Llama: batched equals one by one, same data for every model, n=0, LoRA.

Two "checkpoints" of one architecture: the fixture's random model and a copy
with noise added, so that fine-tunes from them differ and a mix-up of members
would show.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.config.tasks import TasksConfig, build_study_split
from instructmtl.evaluation import finetune_single, grid
from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.finetune_data import build_few_shot_task, cycle_order, step_indices
from instructmtl.evaluation.finetune_single import finetune_one
from instructmtl.evaluation.task_scoring import score_prompts
from instructmtl.evaluation.transfer import run_transfer, transfer_deltas
from instructmtl.models import ModelSpec, load_model
from instructmtl.prompts import TaskPrompter, parse_encoding
from instructmtl.tasks.schema import output_type
from instructmtl.tasks.selection import TaskSplit

NLL_TOLERANCE = 1e-4  # fp32: batched (vmap, eager attention) vs one by one (SDPA) differ by float rounding


@pytest.fixture(scope="module")
def tiny(tiny_lm_dir: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    loaded = load_model(ModelSpec(name_or_path=str(tiny_lm_dir), device="cpu"))
    return loaded.model, loaded.tokenizer


@pytest.fixture(scope="module")
def checkpoints(tiny: tuple[PreTrainedModel, PreTrainedTokenizerBase]) -> dict[str, PreTrainedModel]:
    base = tiny[0]
    other = copy.deepcopy(base)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return {"base": base, "other": other}


@pytest.fixture(scope="module")
def held_out() -> dict[str, TaskSplit]:
    """One generation and one classification held-out task of the built-in suite, 4 eval instances each."""
    _, study = build_study_split(TasksConfig(held_out_max_eval_instances=4))
    by_type: dict[str, TaskSplit] = {}
    for split in study.held_out_tasks:
        if len(split.train) >= 10:
            by_type.setdefault(output_type(split.task), split)
    return by_type


def _snapshot(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_batched_grid_equals_one_by_one(checkpoints, tiny, held_out) -> None:
    # n=2 with batch 4 gives members of fewer rows than the chunk (zero-weight rows); strong
    # clipping and decay exercise per-member norms and decay groups
    config = FinetuneConfig(n=(2, 5), steps=4, batch_size=4, lr=3e-3, weight_decay=0.1, clip_norm=0.5)
    tasks = list(held_out.values())
    before = _snapshot(checkpoints["base"])
    batched = run_transfer(checkpoints, tiny[1], tasks, config, batched=True)
    single = run_transfer(checkpoints, tiny[1], tasks, config, batched=False)
    assert len(batched.scores) == len(single.scores) == 2 * 2 * 2 * 3 * 3  # checkpoints, tasks, n, metrics, subsets
    for b, s in zip(batched.scores, single.scores, strict=True):
        assert (b.checkpoint, b.task, b.n, b.metric) == (s.checkpoint, s.task, s.n, s.metric)
        if b.metric == "target_nll":
            assert b.value == pytest.approx(s.value, abs=NLL_TOLERANCE)
        else:
            assert b.value == s.value
    assert [p.prediction for p in batched.predictions] == [p.prediction for p in single.predictions]
    for member, curve in single.losses.items():
        assert batched.losses[member] == pytest.approx(curve, abs=NLL_TOLERANCE)
        assert curve[-1] < curve[0]  # it trained
    curves = {m.checkpoint: c for m, c in single.losses.items() if m.n == 5}
    assert curves["base"] != pytest.approx(curves["other"], abs=1e-3)  # members really differ
    for key, value in _snapshot(checkpoints["base"]).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)  # checkpoints untouched


def test_workers_side_by_side_give_the_same_results(checkpoints, tiny, held_out) -> None:
    # chunks of one member each, so that several chunks (and n=0 scorings) run at once
    config = FinetuneConfig(n=(0, 2, 5), steps=3, batch_size=4, grid_max_members=1)
    tasks = list(held_out.values())
    serial = run_transfer(checkpoints, tiny[1], tasks, config.model_copy(update={"workers": 1}))
    lines: list[str] = []
    side_by_side = run_transfer(
        checkpoints, tiny[1], tasks, config.model_copy(update={"workers": 3}), progress=lines.append
    )
    assert [(s.checkpoint, s.task, s.n, s.metric) for s in side_by_side.scores] == [
        (s.checkpoint, s.task, s.n, s.metric) for s in serial.scores
    ]
    assert [s.value for s in side_by_side.scores] == pytest.approx([s.value for s in serial.scores], abs=1e-6)
    assert [p.prediction for p in side_by_side.predictions] == [p.prediction for p in serial.predictions]
    assert side_by_side.losses.keys() == serial.losses.keys()
    for member, curve in serial.losses.items():
        assert side_by_side.losses[member] == pytest.approx(curve, abs=1e-6)
    assert len(lines) == 2 * 2 * 3  # one progress line per scored model, from the worker threads


def test_n0_equals_scoring_the_checkpoint(checkpoints, tiny, held_out) -> None:
    model, tokenizer = tiny
    split = held_out["classification"]
    result = run_transfer({"base": model}, tokenizer, [split], FinetuneConfig(n=(0,)))
    prompts = TaskPrompter(split.task, parse_encoding("id"), 0).encode_all(split.eval)
    expected = score_prompts(model, tokenizer, split.task, split.eval, prompts, batch_size=3).metrics
    whole = [s for s in result.scores if s.subset == ""]
    assert {s.metric: s.value for s in whole} == pytest.approx(expected, abs=1e-6)
    assert all(s.n == 0 and s.n_instances == len(split.eval) for s in whole)
    halves = {s.subset: s.n_instances for s in result.scores if s.subset and s.metric == "accuracy"}
    assert halves["a"] + halves["b"] == len(split.eval) and abs(halves["a"] - halves["b"]) <= 1


def test_every_checkpoint_sees_the_same_batches_in_the_same_order(checkpoints, tiny, held_out, monkeypatch) -> None:
    tokenizer = tiny[1]
    split = held_out["generation"]
    config = FinetuneConfig(n=(5,), steps=3, batch_size=4)
    task = build_few_shot_task(split, "id", 0, 5, tokenizer, config.max_length)
    seen: list[list[tuple[int, ...]]] = []

    def spy(examples, pad_id):  # type: ignore[no-untyped-def]
        seen.append([ex.input_ids for ex in examples])
        return collate(examples, pad_id)

    collate = finetune_single.collate
    monkeypatch.setattr(finetune_single, "collate", spy)
    for model in checkpoints.values():
        finetune_one(model, task, 5, 0, config, tokenizer.pad_token_id)
    assert seen[:3] == seen[3:]
    order = cycle_order(split.name, 5, 0)
    expected = [[task.train[i].input_ids for i in step_indices(order, 4, step)] for step in range(3)]
    assert seen[:3] == expected
    assert {ids for batch in expected for ids in batch} == {ex.input_ids for ex in task.train[:5]}

    per_member: list[list[list[tuple[int, ...]]]] = []

    def spy_steps(member_rows, prefix_lengths, pad_id, dtype):  # type: ignore[no-untyped-def]
        per_member.append([[ex.input_ids for ex in rows] for rows in member_rows])
        return step_inputs(member_rows, prefix_lengths, pad_id, dtype)

    step_inputs = grid.step_inputs
    monkeypatch.setattr(grid, "step_inputs", spy_steps)
    members = [grid.Member(split.name, 0, 5, name) for name in checkpoints]
    grid.train_chunk(checkpoints, members, {(split.name, 0): task}, config, tokenizer.pad_token_id)
    assert [step[0] for step in per_member] == expected and [step[1] for step in per_member] == expected


def test_transfer_sign_from_a_checkpoint_that_already_knows_the_task(tiny, held_out) -> None:
    model, tokenizer = tiny
    split = held_out["classification"]
    task = build_few_shot_task(split, "id", 0, len(split.train), tokenizer, 256)
    primer = FinetuneConfig(steps=30, batch_size=8, lr=3e-3)
    primed = finetune_one(model, task, task.available, 0, primer, tokenizer.pad_token_id).model
    config = FinetuneConfig(n=(0, 3), steps=2, batch_size=4)
    result = run_transfer({"base": model, "primed": primed}, tokenizer, [split], config)
    deltas = {(d.n, d.metric): d for d in transfer_deltas(result.scores, "base")}
    for n in (0, 3):
        delta = deltas[(n, "target_nll")]
        primed = result.value("primed", split.name, n, "target_nll")
        expected = primed - result.value("base", split.name, n, "target_nll")
        assert delta.value == pytest.approx(expected)
        assert delta.value < -0.5 and not delta.higher_is_better  # a better start: lower NLL


@pytest.mark.slow  # importing peft alone takes several seconds on the shared machine
def test_lora_mode_runs_and_leaves_the_checkpoint_untouched(tiny, held_out) -> None:
    model, tokenizer = tiny
    split = held_out["classification"]
    before = _snapshot(model)
    config = FinetuneConfig(n=(0, 4), steps=3, batch_size=4, lr=1e-2, mode="lora")
    result = run_transfer({"base": model}, tokenizer, [split], config)
    assert result.value("base", split.name, 4, "target_nll") < result.value("base", split.name, 0, "target_nll")
    (curve,) = result.losses.values()
    assert len(curve) == 3
    for key, value in _snapshot(model).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    task = build_few_shot_task(split, "id", 0, 4, tokenizer, 256)
    tuned = finetune_one(model, task, 4, 0, config, tokenizer.pad_token_id).model
    assert type(tuned) is type(model)  # adapters merged back into an ordinary model
    assert any(not torch.equal(p, before[k]) for k, p in tuned.state_dict().items() if "q_proj" in k)
    assert all(torch.equal(p, before[k]) for k, p in tuned.state_dict().items() if "mlp" in k)


def test_tasks_too_small_for_n_are_listed_as_skipped(tiny, held_out) -> None:
    model, tokenizer = tiny
    split = held_out["classification"]
    too_many = len(split.train) + 1
    result = run_transfer({"base": model}, tokenizer, [split], FinetuneConfig(n=(0, too_many), steps=1))
    assert [(s.task, s.n, s.available) for s in result.skipped] == [(split.name, too_many, len(split.train))]
    assert {s.n for s in result.scores} == {0}


def test_a_chunk_of_mixed_tasks_and_n_pads_members_without_changing_their_training(checkpoints, tiny, held_out) -> None:
    # every member in one chunk: two tasks of different lengths, 2 and 4 rows per step, two checkpoints,
    # so packed steps, segments and targets are all padded to other members' shapes
    tokenizer = tiny[1]
    config = FinetuneConfig(n=(2, 5), steps=3, batch_size=4, lr=3e-3, clip_norm=0.5, grid_min_efficiency=0)
    tasks = {(s.name, 0): build_few_shot_task(s, "id", 0, 5, tokenizer, 256) for s in held_out.values()}
    members = [grid.Member(name, 0, n, c) for (name, _) in tasks for n in config.n for c in checkpoints]
    (planned,) = grid.plan_chunks(members, tasks, checkpoints["base"], config)
    chunk = planned.members
    assert len(chunk) == 8
    trained = grid.train_chunk(checkpoints, chunk, tasks, config, tokenizer.pad_token_id)
    for i, m in enumerate(chunk):
        alone = finetune_one(checkpoints[m.checkpoint], tasks[(m.task, 0)], m.n, 0, config, tokenizer.pad_token_id)
        # the loss of steps 2 and 3 is computed with the weights the earlier steps left: a member
        # disturbed by its neighbours' padding would drift here
        assert trained.losses[:, i].tolist() == pytest.approx(alone.losses, abs=NLL_TOLERANCE)


def _architecture(name: str, vocab: int) -> PreTrainedModel:
    """A 2-layer random model of another family than Llama (dropout off: see the test below)."""
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        GPTNeoXConfig,
        GPTNeoXForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    torch.manual_seed(0)
    ids = {"vocab_size": vocab, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    if name == "gpt_neox":  # Pythia, the GPU preset's family
        return GPTNeoXForCausalLM(
            GPTNeoXConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=512,
                **ids,
            )
        )
    if name == "qwen2":
        return Qwen2ForCausalLM(
            Qwen2Config(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=512,
                **ids,
            )
        )
    # GPT-2: learned absolute positions, no `intermediate_size` in its config
    return GPT2LMHeadModel(
        GPT2Config(
            n_embd=32, n_layer=2, n_head=4, n_positions=512, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **ids
        )
    )


@pytest.mark.parametrize("name", ["gpt_neox", "qwen2", "gpt2"])
def test_batched_grid_equals_one_by_one_on_other_architectures(name, tiny, held_out) -> None:
    # the grid's packed steps pass positions and per-segment attention through the model's forward;
    # a family that ignored either would train on other inputs than one-by-one fine-tuning does.
    # Dropout is off because the grid's dropout masks are not those of a lone run.
    tokenizer = tiny[1]
    model = _architecture(name, len(tokenizer))
    config = FinetuneConfig(n=(2, 5), steps=3, batch_size=4, lr=3e-3)
    tasks = list(held_out.values())
    batched = run_transfer({"c": model}, tokenizer, tasks, config, batched=True)
    single = run_transfer({"c": model}, tokenizer, tasks, config, batched=False)
    for member, curve in single.losses.items():
        assert batched.losses[member] == pytest.approx(curve, abs=NLL_TOLERANCE)
    for b, s in zip(batched.scores, single.scores, strict=True):
        assert b.value == pytest.approx(s.value, abs=NLL_TOLERANCE)
