"""Saving a model + tokenizer as an ordinary HF model directory, atomically.

A checkpoint is exactly what ``save_pretrained`` writes (``config.json``,
``model.safetensors``, ``generation_config.json``, tokenizer files), so any
tool that reads HF directories can load it, plus ``instructmtl_checkpoint.json``
with the caller's metadata (step, arm, seed...). The metadata file is written
last and its presence is what makes a folder a checkpoint.

Atomicity: everything is written into a hidden temporary folder beside
``out_dir`` and renamed into place, so a process killed at any moment leaves
either no checkpoint or a complete one, never a half-written one that a
resumed study would trust. (Process death only: files are not fsynced, so a
power cut can still lose the last checkpoint; resume then redoes that job.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import ConfigError

METADATA_FILE = "instructmtl_checkpoint.json"
FORMAT_VERSION = 1


def save_checkpoint(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    out_dir: str | os.PathLike[str],
    metadata: Mapping[str, Any],
) -> Path:
    """Writes ``model`` and ``tokenizer`` to ``out_dir`` in safetensors, atomically.

    An existing checkpoint at ``out_dir`` is replaced (a job re-run after a
    crash writes the same checkpoint again); any other existing folder is
    refused, so a typo cannot delete user files. Leftover temporary folders of
    earlier killed saves to the same ``out_dir`` are removed first.

    Args:
        model: the model; tied input/output embeddings are saved once and tied
            again on load, as ``save_pretrained`` does.
        tokenizer: its tokenizer.
        out_dir: the checkpoint folder to create or replace.
        metadata: JSON-serializable facts about the checkpoint (step, arm, seed...).

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ConfigError: ``out_dir`` is a file, or an existing non-checkpoint folder.
        TypeError: ``metadata`` is not JSON-serializable (raised before
            anything is written).
    """
    out = Path(out_dir)
    # Serialize first: bad metadata must fail before any file is touched.
    record = json.dumps({"format_version": FORMAT_VERSION, "metadata": dict(metadata)}, indent=2, sort_keys=True)
    if out.exists() and not is_checkpoint(out):
        raise ConfigError(f"{out}: exists and is not an instructmtl checkpoint; choose another folder or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    staging = Path(tempfile.mkdtemp(prefix=_hidden_prefix(out, "partial"), dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / METADATA_FILE).write_text(record + "\n", encoding="utf-8")
        _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a complete checkpoint written by :func:`save_checkpoint`."""
    return (Path(path) / METADATA_FILE).is_file()


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata a checkpoint was saved with.

    Raises:
        ConfigError: ``path`` is not a checkpoint written by :func:`save_checkpoint`.
    """
    file = Path(path) / METADATA_FILE
    if not file.is_file():
        raise ConfigError(f"{path}: no {METADATA_FILE}; not an instructmtl checkpoint (or an interrupted save)")
    record = json.loads(file.read_text(encoding="utf-8"))
    if record.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{file}: format_version {record.get('format_version')} is not {FORMAT_VERSION}")
    return dict(record["metadata"])


def _move_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    # rename(2) cannot replace a non-empty directory, so the old checkpoint is
    # moved aside first. A kill between the two renames leaves no out_dir and
    # the old one aside (swept by the next save): still never a half checkpoint.
    retired = Path(tempfile.mkdtemp(prefix=_hidden_prefix(out, "old"), dir=out.parent))
    os.replace(out, retired / out.name)
    os.replace(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


def _hidden_prefix(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-"


def _remove_leftovers(out: Path) -> None:
    for kind in ("partial", "old"):
        for leftover in out.parent.glob(_hidden_prefix(out, kind) + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
