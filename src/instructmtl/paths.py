"""Where instructmtl keeps its cache (built-in base models, tokenizers).

XDG user cache dir by default; ``INSTRUCTMTL_CACHE`` overrides it so tests and
CI can point it at a temporary folder. The environment is read when the
function is called, never at import, so nothing global is captured.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The root cache directory (created on first use)."""
    override = os.environ.get("INSTRUCTMTL_CACHE")
    root = Path(override) if override else Path(platformdirs.user_cache_dir("instructmtl"))
    root.mkdir(parents=True, exist_ok=True)
    return root
