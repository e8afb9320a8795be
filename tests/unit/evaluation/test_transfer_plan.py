"""Fast checks of the transfer grid's pieces that need no model: config, data order, clipping, chunking."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from instructmtl.errors import UnknownNameError
from instructmtl.evaluation.finetune_config import FinetuneConfig
from instructmtl.evaluation.finetune_data import cycle_order, step_indices
from instructmtl.evaluation.grid import Member, clip_per_member, concurrent_chunks, member_bytes, plan_chunks
from instructmtl.evaluation.transfer import FinetuneScore, transfer_deltas
from instructmtl.tokenized.examples import TrainExample


def test_config_sorts_counts_and_canonicalises_the_encoding() -> None:
    config = FinetuneConfig(n=(10, 0, 5), encoding="pos4")
    assert config.n == (0, 5, 10)
    assert config.encoding == "pos-4"
    assert config.rows(5) == 5 and config.rows(40) == config.batch_size


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ((), "at least one training-instance count"),
        ((-1, 5), r"distinct and >= 0, got \[-1, 5\]"),
        ((5, 5), r"distinct and >= 0, got \[5, 5\]"),
    ],
)
def test_config_rejects_bad_counts(counts: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FinetuneConfig(n=counts)


def test_config_rejects_unknown_encoding_with_suggestion() -> None:
    with pytest.raises(UnknownNameError, match="id"):
        FinetuneConfig(encoding="idd")


def test_cycle_order_is_a_fixed_permutation_per_task_n_and_seed() -> None:
    order = cycle_order("task_a", 10, seed=0)
    assert sorted(order) == list(range(10))
    assert cycle_order("task_a", 10, seed=0) == order  # no hidden state
    assert cycle_order("task_a", 10, seed=1) != order
    assert cycle_order("task_b", 10, seed=0) != order


def test_step_indices_cycle_through_every_instance_evenly() -> None:
    order = cycle_order("t", 5, seed=0)
    seen = [i for step in range(5) for i in step_indices(order, 4, step)]  # 20 draws of 5 instances
    assert seen[:5] == list(order)
    assert all(seen.count(i) == 4 for i in range(5))


def test_per_member_clipping_equals_clipping_each_member_alone() -> None:
    generator = torch.Generator().manual_seed(0)
    grads = [torch.randn(3, 4, 5, generator=generator), torch.randn(3, 7, generator=generator)]
    grads[0][2] *= 1e-3  # member 2 is under the threshold and must stay untouched
    grads[1][2] *= 1e-3
    expected = []
    for m in range(3):
        params = [torch.nn.Parameter(torch.zeros_like(g[m])) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g[m].clone()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        expected.append([p.grad for p in params])
    norms = clip_per_member(grads, 1.0)
    assert norms[0] > 1.0 and norms[2] < 1.0
    for m in range(3):
        for g, e in zip(grads, expected[m], strict=True):
            torch.testing.assert_close(g[m], e)


def _task_stub(n_examples: int, length: int) -> object:
    """Examples of ``length`` tokens, 3 of them target, sharing no leading token."""

    class Stub:
        train = tuple(TrainExample("t", "t", (i, *range(1, length)), length - 3) for i in range(n_examples))

    return Stub()


def _tiny_model() -> LlamaForCausalLM:
    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=64,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )


TASKS = {("a", 0): _task_stub(8, 20), ("b", 0): _task_stub(8, 40)}
MEMBERS = [Member(t, 0, n, c) for t in ("a", "b") for n in (2, 8) for c in ("c1", "c2", "c3")]


def test_plan_chunks_respects_the_member_cap_and_the_memory_budget() -> None:
    model = _tiny_model()
    capped = plan_chunks(MEMBERS, TASKS, model, FinetuneConfig(grid_max_members=4, grid_min_efficiency=0))
    assert [len(c.members) for c in capped] == [4, 4, 4]
    assert sorted(m for c in capped for m in c.members) == sorted(MEMBERS)
    widest = [m for m in MEMBERS if m.task == "b" and m.n == 8]  # 8 rows of 40 tokens packed, 8 * 3 targets
    one = member_bytes(model, rows=1, length=8 * 40, keep=8 * 3)
    tight = plan_chunks(widest, TASKS, model, FinetuneConfig(grid_memory_gb=2.5 * one / 2**30))
    assert [len(c.members) for c in tight] == [2, 1]
    alone = plan_chunks(widest, TASKS, model, FinetuneConfig(grid_memory_gb=0.5 * one / 2**30))
    assert [len(c.members) for c in alone] == [1, 1, 1]  # over budget alone: still run, one per chunk


def test_chunks_that_train_at_once_share_the_memory_budget() -> None:
    model = _tiny_model()
    widest = [m for m in MEMBERS if m.task == "b" and m.n == 8]
    one = member_bytes(model, rows=1, length=8 * 40, keep=8 * 3)
    config = FinetuneConfig(grid_memory_gb=2.5 * one / 2**30)
    alone = plan_chunks(widest, TASKS, model, config)
    assert [len(c.members) for c in alone] == [2, 1]
    shared = plan_chunks(widest, TASKS, model, config, share=2)  # two chunks at once: 1.25 members each
    assert [len(c.members) for c in shared] == [1, 1, 1]
    assert concurrent_chunks(shared, config, workers=2) == 2
    assert concurrent_chunks(shared, config, workers=4) == 2  # 2.5 members fit, not 4
    assert concurrent_chunks(alone, config, workers=2) == 1  # a 2-member chunk twice: no
    too_big = FinetuneConfig(grid_memory_gb=0.5 * one / 2**30)
    assert concurrent_chunks(alone, too_big, workers=2) == 1  # never fewer than one


def test_plan_chunks_keeps_padding_below_the_efficiency_floor() -> None:
    # packed steps: a n=2 is 40 tokens, a n=8 160, b n=2 80, b n=8 320; one a n=8 beside three a n=2
    # is (3 * 40 + 160) of 4 * 160 tokens real, 44%, under the default 85%; one b n=2 beside three
    # a n=8 is 88% real, a second one 80%
    chunks = plan_chunks(MEMBERS, TASKS, _tiny_model(), FinetuneConfig(grid_max_members=16))
    assert [[(m.task, m.n) for m in c.members] for c in chunks] == [
        [("a", 2)] * 3,
        [("a", 8)] * 3 + [("b", 2)],
        [("b", 2)] * 2,
        [("b", 8)] * 3,
    ]
    mixed = plan_chunks(MEMBERS, TASKS, _tiny_model(), FinetuneConfig(grid_max_members=16, grid_min_efficiency=0.4))
    # a lower floor lets n=2 and n=8 share a chunk, and b n=2 join it (3 * 40 + 3 * 160 + 3 * 80 of
    # 9 * 160: 58% real), but not b n=8, whose 320 tokens would leave 36% real
    assert [len(c.members) for c in mixed] == [9, 3] and {(m.task, m.n) for m in mixed[1].members} == {("b", 8)}


def test_transfer_delta_is_checkpoint_minus_base_per_key() -> None:
    def row(checkpoint: str, n: int, metric: str, value: float) -> FinetuneScore:
        return FinetuneScore(checkpoint, "t", "id", n, 0, metric, value, 10)

    scores = [
        row("base", 5, "rouge_l", 0.5),
        row("base", 5, "target_nll", 2.0),
        row("tuned", 5, "rouge_l", 0.25),
        row("tuned", 5, "target_nll", 3.5),
        row("tuned", 10, "rouge_l", 0.9),
    ]
    deltas = {(d.n, d.metric): d for d in transfer_deltas(scores, "base")}
    assert set(deltas) == {(5, "rouge_l"), (5, "target_nll")}  # n=10 has no base counterpart
    assert deltas[(5, "rouge_l")].value == pytest.approx(-0.25) and deltas[(5, "rouge_l")].higher_is_better
    assert deltas[(5, "target_nll")].value == pytest.approx(1.5) and not deltas[(5, "target_nll")].higher_is_better
    with pytest.raises(KeyError, match="no scores of the base checkpoint 'missing'"):
        transfer_deltas(scores, "missing")
