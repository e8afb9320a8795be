"""Which precision a run uses: bf16 autocast where the hardware does bf16 matmul fast, else fp32.

fp32 is the reference (and what tests pin); ``auto`` picks bf16 on GPUs that
support it and on CPUs with AVX512-BF16 or AMX, where bf16 matmul is several
times faster than fp32 (about 2-4x on the 2-core development machine).
"""

from __future__ import annotations

from pathlib import Path

import torch


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has native bf16 matmul instructions (Linux /proc/cpuinfo flags)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return False
    flags = cpuinfo.read_text()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """Maps the config's ``fp32 | bf16 | auto`` to accelerate's ``no | bf16``."""
    if precision == "fp32":
        return "no"
    if precision == "bf16":
        return "bf16"
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16" if cpu_has_fast_bf16() else "no"
