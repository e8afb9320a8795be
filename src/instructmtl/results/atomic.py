"""Atomic file writes: a reader sees the old file or the new one, never half of one.

A study can be killed at any moment and its report or export rebuilt later;
writing to a temporary file in the same folder and renaming it over the target
(``os.replace`` is atomic on POSIX and Windows) means a kill never leaves a
truncated report that looks complete.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text"]


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Calls ``write(tmp)`` on a temporary path beside ``path``, then renames it to ``path``.

    Args:
        path: the final file.
        write: writes the whole content to the path it is given (for writers
            such as pyarrow that want a path rather than bytes).

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # a unique name rather than mkstemp: mkstemp makes the file 0600, and the
    # report should get the same permissions as any file the user writes
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically; returns ``path``."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> Path:
    """Writes UTF-8 ``text`` to ``path`` atomically; returns ``path``."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
