"""bf16-on-CPU training attention: fp32 SDPA inside bf16 autocast, plain SDPA otherwise, never saved in a config."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

import instructmtl.training.attention as attention
from instructmtl.tokenized.batches import collate
from instructmtl.tokenized.examples import TrainExample
from instructmtl.training.attention import NAME, use_fp32_attention_for_cpu_bf16


def _batch():
    g = torch.Generator().manual_seed(0)
    rows = [TrainExample("t", "t", tuple(torch.randint(3, 300, (n,), generator=g).tolist()), n - 2) for n in (24, 17)]
    return collate(rows, pad_id=0)


def _logits(model, batch) -> torch.Tensor:
    return model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids
    ).logits.float()


def test_only_bf16_on_cpu_switches(tiny_lm_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, attn_implementation="sdpa")
    assert not use_fp32_attention_for_cpu_bf16(model, "no", torch.device("cpu"))
    assert not use_fp32_attention_for_cpu_bf16(model, "bf16", torch.device("meta"))
    assert model.config._attn_implementation == "sdpa"
    assert use_fp32_attention_for_cpu_bf16(model, "bf16", torch.device("cpu"))
    assert model.config._attn_implementation == NAME


def test_attention_runs_in_fp32_under_bf16_autocast_and_matches_sdpa_in_fp32(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, attn_implementation="sdpa").eval()
    batch = _batch()
    real = batch.attention_mask.bool()
    with torch.no_grad():
        reference = _logits(model, batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            stock_bf16 = _logits(model, batch)
        use_fp32_attention_for_cpu_bf16(model, "bf16", torch.device("cpu"))
        assert torch.equal(_logits(model, batch), reference)  # outside autocast: plain SDPA, bit for bit
        seen = []
        real_sdpa = attention.sdpa_attention_forward

        def spy(module, query, key, value, mask, **kwargs):  # type: ignore[no-untyped-def]
            seen.append((query.dtype, key.dtype, value.dtype, torch.is_autocast_enabled("cpu")))
            return real_sdpa(module, query, key, value, mask, **kwargs)

        monkeypatch.setattr(attention, "sdpa_attention_forward", spy)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            ours_bf16 = _logits(model, batch)
    assert seen and all(s == (torch.float32, torch.float32, torch.float32, False) for s in seen)
    # the matrix products stay bf16, so the logits differ from fp32 by about as much as stock bf16's, no more
    ours_err = (ours_bf16 - reference)[real].abs().max()
    stock_err = (stock_bf16 - reference)[real].abs().max()
    assert ours_err <= stock_err * 1.5 and ours_err < 0.5
    model.save_pretrained(tmp_path / "saved")
    assert NAME not in (tmp_path / "saved" / "config.json").read_text()
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "saved").config._attn_implementation == "sdpa"
