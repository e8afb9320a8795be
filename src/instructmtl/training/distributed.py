"""Checks that ``accelerate launch`` set up the distributed run its config asked for, before any step runs.

Why: accelerate falls back silently. Under ``accelerate launch`` with an FSDP
config on a machine without GPUs, accelerate 1.15 ignores ``use_cpu: true``
for FSDP launches and only turns FSDP on for GPU-like devices
(``AcceleratorState`` sets ``DistributedType.FSDP`` only in its multi-GPU /
NPU / XPU / ... branch, never for ``MULTI_CPU``). Each launched process then
comes up as a *single-process* run: N copies train alone on the whole batch
and write the same run directory. Failing at once with one line is better
than a run that looks fine and is not what was asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from accelerate import Accelerator
from accelerate.utils import DistributedType

from instructmtl.errors import ConfigError


def launched_world_size(env: Mapping[str, str]) -> int:
    """How many processes the launcher started (torchrun / accelerate set ``WORLD_SIZE``); 1 when not launched.

    Raises:
        ConfigError: ``WORLD_SIZE`` is set but not a positive integer: guessing 1 would let N
            processes each train alone and write the same checkpoints.
    """
    raw = env.get("WORLD_SIZE", "1")
    try:
        world = int(raw)
    except ValueError:
        world = 0
    if world < 1:
        raise ConfigError(
            f"environment variable WORLD_SIZE={raw!r} is not a positive integer; unset it or launch "
            "with torchrun / accelerate launch, which set it"
        )
    return world


def fsdp_requested(env: Mapping[str, str]) -> bool:
    """Whether the launch config asked for FSDP (``accelerate launch`` exports ``ACCELERATE_USE_FSDP``)."""
    return env.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def check_launch(accelerator: Accelerator, env: Mapping[str, str] | None = None) -> None:
    """Raises a one-line :class:`ConfigError` when the processes are not the distributed run the launch asked for.

    Raises:
        ConfigError: FSDP requested but not active (FSDP on CPU), or several
            processes launched that did not form one process group.
    """
    env = os.environ if env is None else env
    world = launched_world_size(env)
    if fsdp_requested(env) and accelerator.distributed_type != DistributedType.FSDP:
        raise ConfigError(
            f"FSDP was requested by the accelerate config but is not active here (accelerate set up "
            f"{accelerator.distributed_type.value} with {accelerator.num_processes} process(es)): accelerate enables "
            "FSDP only on GPUs/accelerators, not on CPU (gloo); on CPU use data parallel instead "
            "(accelerate launch --cpu --num_processes N)"
        )
    if accelerator.distributed_type == DistributedType.FSDP:
        # Why refuse rather than run: checkpoints and the resumable state are written from the main
        # process alone (model.save_pretrained, optimizer.state_dict()); under FSDP those hold only that
        # rank's shards, and gathering them is a collective no test here can check without GPUs.
        raise ConfigError(
            "FSDP is not supported by `instructmtl tune` yet: its checkpoints and resumable state are "
            "saved from one process and would hold only that process's shards; use data parallel "
            "(accelerate launch --multi_gpu --num_processes N, or an accelerate config without FSDP)"
        )
    if world > 1 and accelerator.num_processes != world:
        raise ConfigError(
            f"{world} processes were launched but accelerate formed a group of {accelerator.num_processes} "
            f"({accelerator.distributed_type.value}); each would train alone on the whole batch; check the "
            "accelerate config (on CPU: accelerate launch --cpu --num_processes N)"
        )
