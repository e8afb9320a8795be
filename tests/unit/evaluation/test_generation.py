"""Batched greedy generation with a shared prefix equals greedy decoding of each prompt alone."""

from __future__ import annotations

import pytest
import torch

from instructmtl.errors import InstructMTLError
from instructmtl.evaluation.generation import generate_greedy, max_new_tokens_for
from instructmtl.tokenized.encode import encode

PREFIX = (
    "Definition: answer the question about the animal.\n\nPositive example 1 -\n\nInput: The cat sat.\nOutput: cat\n\n"
)
QUERIES = [
    "Input: The dog ran in the park.\nOutput:",
    "Input: red\nOutput:",
    "Now complete the following example -\nInput: one two three four five\nOutput:",
    "Input: A bird!\nOutput:",
]


def _hf_greedy_raw(model, tokenizer, prompt: str, max_new_tokens: int) -> str:
    """Reference: transformers' own greedy decoding of one prompt, no batching, no newline stop."""
    ids = torch.tensor([encode(tokenizer, prompt)])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def _boost(model, tokenizer, target: int, query: str, step: int) -> None:
    """Makes ``target`` win wherever the token greedy decoding picks at ``step`` would have won."""
    ids = torch.tensor([encode(tokenizer, PREFIX + query)])
    with torch.no_grad():
        for _ in range(step):
            ids = torch.cat([ids, model(input_ids=ids).logits[:, -1:].argmax(-1)], dim=1)
        winner = int(model(input_ids=ids).logits[0, -1].argmax())
        model.lm_head.weight[target] = 2 * model.lm_head.weight[winner]


@pytest.mark.parametrize("prefix", [PREFIX, ""])
def test_batched_equals_unbatched_and_transformers(model, tokenizer, prefix) -> None:
    batched = generate_greedy(model, tokenizer, prefix, QUERIES, max_new_tokens=8, batch_size=3)
    alone = [generate_greedy(model, tokenizer, prefix, [q], max_new_tokens=8, batch_size=1)[0] for q in QUERIES]
    assert batched == alone
    reference = [_hf_greedy_raw(model, tokenizer, prefix + q, 8).split("\n")[0].strip() for q in QUERIES]
    assert batched == reference
    assert len(set(batched)) > 1  # different prompts really give different answers


def test_stops_at_the_first_newline(model, tokenizer) -> None:
    (newline,) = encode(tokenizer, "\n")
    _boost(model, tokenizer, newline, QUERIES[0], step=2)
    raw = _hf_greedy_raw(model, tokenizer, PREFIX + QUERIES[0], 12)
    assert "\n" in raw
    texts = generate_greedy(model, tokenizer, PREFIX, QUERIES, max_new_tokens=12, batch_size=4)
    assert texts[0] == raw.split("\n")[0].strip()
    assert all("\n" not in t for t in texts)
    kept = generate_greedy(model, tokenizer, PREFIX, QUERIES[:1], max_new_tokens=12, stop_at_newline=False)
    assert kept[0] == raw.strip()


def test_stops_at_eos(model, tokenizer) -> None:
    _boost(model, tokenizer, tokenizer.eos_token_id, QUERIES[1], step=3)
    raw_ids = model.generate(
        input_ids=torch.tensor([encode(tokenizer, PREFIX + QUERIES[1])]),
        do_sample=False,
        max_new_tokens=12,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    assert tokenizer.eos_token_id in raw_ids[0].tolist()
    texts = generate_greedy(model, tokenizer, PREFIX, QUERIES, max_new_tokens=12, stop_at_newline=False, batch_size=4)
    assert texts[1] == _hf_greedy_raw(model, tokenizer, PREFIX + QUERIES[1], 12).strip()
    assert "<eos>" not in texts[1]


def test_length_bound(model, tokenizer) -> None:
    for bound in (1, 3):
        texts = generate_greedy(model, tokenizer, PREFIX, QUERIES, max_new_tokens=bound, stop_at_newline=False)
        assert texts == [_hf_greedy_raw(model, tokenizer, PREFIX + q, bound).strip() for q in QUERIES]


def test_max_new_tokens_for(tokenizer) -> None:
    outputs = ["cat", "a bird sang in the tree"]
    longest = max(len(encode(tokenizer, o)) for o in outputs)
    assert max_new_tokens_for(tokenizer, outputs) == -(-3 * longest // 2) + 2
    assert max_new_tokens_for(tokenizer, outputs, cap=4) == 4
    with pytest.raises(InstructMTLError, match="the task has no reference outputs"):
        max_new_tokens_for(tokenizer, [])


def test_zero_max_new_tokens_is_an_error(model, tokenizer) -> None:
    with pytest.raises(InstructMTLError, match="max_new_tokens=0"):
        generate_greedy(model, tokenizer, PREFIX, QUERIES, max_new_tokens=0)
