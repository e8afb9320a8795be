"""FSDP through an ordinary accelerate FSDP config: on CPU it is refused with one line, before any training.

Why a refusal and not a loss-curve comparison as for DDP: accelerate 1.15 turns
FSDP on only for GPU-like devices. Launched on CPU with ``distributed_type: FSDP``
(``use_cpu: true`` or not), each process comes up as a single-process run, so
two processes would train two copies alone into one run directory. The test
pins that ``instructmtl tune`` notices and stops (see training/distributed.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from fixtures.tune_configs import small_tune_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal; on GPUs accelerate runs FSDP"),
]

FSDP_CONFIG = {
    "compute_environment": "LOCAL_MACHINE",
    "distributed_type": "FSDP",
    "use_cpu": True,
    "num_machines": 1,
    "num_processes": 2,
    "mixed_precision": "no",
    "fsdp_config": {
        "fsdp_version": 2,
        "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "fsdp_transformer_layer_cls_to_wrap": "LlamaDecoderLayer",
        "fsdp_state_dict_type": "FULL_STATE_DICT",
        "fsdp_reshard_after_forward": True,
        "fsdp_cpu_ram_efficient_loading": False,
    },
}


def test_fsdp_config_on_cpu_is_refused_before_training(tiny_lm_dir: Path, tmp_path: Path) -> None:
    tune_config = small_tune_config(tiny_lm_dir, arm={"name": "fsdp"}, steps=2)
    (tmp_path / "tune.yaml").write_text(yaml.safe_dump(tune_config))
    (tmp_path / "fsdp.yaml").write_text(yaml.safe_dump(FSDP_CONFIG))
    accelerate = Path(sys.executable).with_name("accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [
            str(accelerate),
            "launch",
            "--config_file",
            str(tmp_path / "fsdp.yaml"),
            "--num_processes",
            "2",
            "-m",
            "instructmtl",
            "tune",
            str(tmp_path / "tune.yaml"),
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    # each of the two processes prints the same single line, naming the cause and the way out
    assert len(errors) == 2 and errors[0] == errors[1], done.stderr[-3000:]
    assert "FSDP was requested" in errors[0] and "not on CPU" in errors[0] and "--cpu --num_processes" in errors[0]
    run_dir = tmp_path / "run"
    assert not (run_dir / "log.jsonl").exists() and not (run_dir / "state").exists()
