"""Attention for bf16 training on CPU: SDPA with query, key and value upcast to fp32.

Why: under bf16 autocast on CPU, PyTorch's flash-attention kernel is slower in
bf16 than in fp32 at the small head sizes of the models trained here. Measured
on the 2-core development machine (one thread, 5 rows x 4 heads x 180 tokens x
head size 32, causal mask, forward + backward): 12.3 ms in bf16, 7.1 ms in fp32
including the casts; attention was about a third of a bf16 training step. The
matrix products around it stay in bf16 (that is where bf16 is fast), and the
result is at least as precise as the bf16 kernel's. On GPUs and in fp32 the
function is plain SDPA.

Registered with transformers' ``AttentionInterface`` (and ``sdpa``'s mask
builder under the same name), and selected per model with
``set_attn_implementation``. The choice is not written into a saved
``config.json`` (tested), so checkpoints load anywhere as plain SDPA models.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "instructmtl_sdpa_fp32_cpu"


def sdpa_fp32_on_cpu(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,  # passed on to transformers' SDPA function as they came
) -> tuple[torch.Tensor, None]:
    """HF's SDPA attention, computed in fp32 under CPU bf16 autocast (the output is bf16, as autocast's would be)."""
    bf16_autocast = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    if query.device.type == "cpu" and bf16_autocast:
        # autocast would cast SDPA's inputs back to bf16 (query and key arrive in fp32 from the rotary product)
        with torch.autocast("cpu", enabled=False):
            out, weights = sdpa_attention_forward(
                module, query.float(), key.float(), value.float(), attention_mask, **kwargs
            )
        return out.to(torch.bfloat16), weights
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _register() -> None:
    AttentionInterface.register(NAME, sdpa_fp32_on_cpu)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


def use_fp32_attention_for_cpu_bf16(model: torch.nn.Module, mixed_precision: str, device: torch.device) -> bool:
    """Switches an SDPA model to :func:`sdpa_fp32_on_cpu` for bf16 runs on CPU; returns whether it did."""
    config = getattr(model, "config", None)
    if mixed_precision != "bf16" or device.type != "cpu" or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    _register()
    model.set_attn_implementation(NAME)  # type: ignore[operator]  # a PreTrainedModel (it has a config)
    return True
