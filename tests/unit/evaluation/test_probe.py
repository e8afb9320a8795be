"""The ICL probe scores exactly the target tokens of pos-k prompts."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from instructmtl.errors import PromptTooLongError
from instructmtl.evaluation.probe import _prompts, icl_curve, icl_probe
from instructmtl.models.builtin import MICRO, build_model, train_tokenizer
from instructmtl.tasks.builtin import build_suite

PRESET = dataclasses.replace(MICRO, context_len=512)


@pytest.fixture(scope="module")
def setup():
    tasks = build_suite(n_tasks=3, n_instances=12, seed=0)
    texts = [i.input + " " + i.outputs[0] for t in tasks for i in t.instances] * 3
    tokenizer = train_tokenizer(texts, vocab_size=PRESET.vocab_size, context_len=PRESET.context_len)
    return build_model(PRESET, tokenizer, seed=0), tokenizer, tasks


def test_loss_is_the_mean_target_nll(setup):
    model, tokenizer, tasks = setup
    task = tasks[0]
    point = icl_probe(model, tokenizer, [task], ks=[1], seed=0, n_eval=1)[1]
    prompt = _prompts(task, 1, 0, 1)[0]
    # the study's tokenization: no added special tokens, the target's leading space starts the target
    context = tokenizer(prompt.text, add_special_tokens=False)["input_ids"]
    target = tokenizer(prompt.text + prompt.target, add_special_tokens=False)["input_ids"][len(context) :]
    assert target and tokenizer.decode(target) == prompt.target
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([context + target])).logits[0]
    logprobs = torch.log_softmax(logits.float(), -1)
    expected = -sum(logprobs[len(context) + i - 1, t].item() for i, t in enumerate(target)) / len(target)
    assert point.loss == pytest.approx(expected, rel=1e-4)
    assert point.per_task == {task.name: pytest.approx(expected, rel=1e-4)}


def test_curve_has_one_finite_point_per_k_and_padding_does_not_leak(setup):
    model, tokenizer, tasks = setup
    points = icl_probe(model, tokenizer, tasks, ks=[0, 2], seed=0, n_eval=4)
    assert sorted(points) == [0, 2]
    for point in points.values():
        assert math.isfinite(point.loss) and point.loss > 0
        assert 0.0 <= point.exact_match <= 1.0
        assert set(point.per_task) == {t.name for t in tasks}
    # batched (padded) scoring equals one-by-one scoring
    alone = [icl_probe(model, tokenizer, [t], ks=[2], seed=0, n_eval=4)[2].loss for t in tasks]
    assert points[2].loss == pytest.approx(sum(alone) / len(alone), rel=1e-4)
    assert icl_curve(model, tokenizer, tasks, ks=[0, 2], seed=0, n_eval=4) == {k: p.loss for k, p in points.items()}


def test_prompt_longer_than_the_context_is_a_user_error(setup):
    _, tokenizer, tasks = setup
    short = build_model(dataclasses.replace(MICRO, context_len=16), tokenizer, seed=0)
    with pytest.raises(PromptTooLongError, match="exceed"):
        icl_probe(short, tokenizer, tasks[:1], ks=[2], seed=0, n_eval=1)
