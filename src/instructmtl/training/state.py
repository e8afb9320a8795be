"""The resumable state of a run, saved atomically so a kill at any moment loses at most the steps since.

A run restarts from its last saved state and ends with the same weights as an
uninterrupted run. That needs the model, the optimizer and scheduler, the
loss weighting's learned parameters (``extras.safetensors``), and the data
position. The data position is just the number of examples drawn from each
task plus the replay blocks used and the step: every step's randomness is a
generator seeded by (run seed, step), and each task's instance order is a
permutation seeded by (seed, task, epoch), so nothing else is needed. The
regularizer's anchor is not saved: the tune workflow makes it again from the
base model (and, for EWC, the same seeded corpus batches) before resuming.

Files (all tensors in safetensors; optimizer/scheduler state through
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects):
``model.safetensors``, ``extras.safetensors``, ``optimizer.pt``,
``scheduler.pt``, ``trainer_state.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

STATE_DIR = "state"


@dataclass
class TrainerState:
    """The scalars of the resumable state (JSON)."""

    step: int = 0
    task_counts: dict[str, int] = field(default_factory=dict)
    replay_blocks_used: int = 0
    examples_seen: int = 0
    checkpoints: dict[str, str] = field(default_factory=dict)
    config_hash: str = ""


def save_state(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    extras: dict[str, torch.Tensor],
    state: TrainerState,
) -> Path:
    """Writes the whole state into ``run_dir/state`` by writing a sibling folder and renaming it.

    The rename is the commit point: a kill before it leaves the previous state intact.
    """
    final = run_dir / STATE_DIR
    staging = Path(tempfile.mkdtemp(prefix=".state-partial-", dir=run_dir))
    try:
        save_model(model, str(staging / "model.safetensors"))
        save_file({k: v.detach().contiguous().cpu() for k, v in extras.items()}, str(staging / "extras.safetensors"))
        torch.save(optimizer.state_dict(), staging / "optimizer.pt")
        torch.save(scheduler.state_dict(), staging / "scheduler.pt")
        (staging / "trainer_state.json").write_text(json.dumps(asdict(state), sort_keys=True))
        old = run_dir / ".state-old"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def find_state(run_dir: Path) -> Path | None:
    """The saved state of a run, if any (also after a kill between the two renames)."""
    for name in (STATE_DIR, ".state-old"):
        candidate = run_dir / name
        if (candidate / "trainer_state.json").is_file():
            return candidate
    return None


def load_state(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[TrainerState, dict[str, torch.Tensor]]:
    """Restores model, optimizer and scheduler in place; returns the scalars and the extra tensors."""
    load_model(model, str(path / "model.safetensors"))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    extras = load_file(str(path / "extras.safetensors"))
    data = json.loads((path / "trainer_state.json").read_text())
    return TrainerState(**data), extras
