"""Local file sources: plain text and JSON lines.

Both read every document into memory once and shuffle the whole list each
pass, so document order is a true permutation drawn from the RNG. That is
right for replay corpora of up to a few hundred MB; larger ones belong in the
``datasets`` source with ``streaming: true``.
"""

from __future__ import annotations

import glob
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

from instructmtl.corpus.config import JsonlCorpusConfig, TextCorpusConfig
from instructmtl.errors import ConfigError

_BLANK_LINES = re.compile(r"\n\s*\n")


def resolve_paths(patterns: tuple[str, ...], kind: str) -> list[Path]:
    """Expands file names and glob patterns into a sorted, de-duplicated list of files.

    Raises:
        ConfigError: naming the first pattern that matches no file.
    """
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file()]
        if not matches:
            raise ConfigError(f"corpus ({kind}): paths entry '{pattern}' matches no file; fix the path or glob")
        found.update(matches)
    return sorted(found)


def _shuffled(docs: list[str], rng: random.Random) -> Iterator[str]:
    order = list(range(len(docs)))
    rng.shuffle(order)
    for i in order:
        yield docs[i]


class TextSource:
    """Documents from plain text files (see :class:`TextCorpusConfig` for the units)."""

    finite = True

    def __init__(self, config: TextCorpusConfig) -> None:
        self.config = config
        self.files = resolve_paths(config.paths, "text")
        self._docs: list[str] | None = None

    def _split(self, text: str) -> list[str]:
        if self.config.unit == "file":
            parts = [text]
        elif self.config.unit == "paragraph":
            parts = _BLANK_LINES.split(text)
        else:
            parts = text.splitlines()
        return [p.strip() for p in parts if p.strip()]

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields every non-empty document once, in an order drawn from ``rng``."""
        if self._docs is None:
            self._docs = [d for f in self.files for d in self._split(f.read_text(encoding=self.config.encoding))]
        return _shuffled(self._docs, rng)


class JsonlSource:
    """Documents from the ``field`` of each row of JSON-lines files."""

    finite = True

    def __init__(self, config: JsonlCorpusConfig) -> None:
        self.config = config
        self.files = resolve_paths(config.paths, "jsonl")
        self._docs: list[str] | None = None

    def _read(self, path: Path) -> list[str]:
        docs: list[str] = []
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{path}:{line_no}: not valid JSON ({err.msg}); fix or remove the line") from None
            value = row.get(self.config.field) if isinstance(row, dict) else None
            if not isinstance(value, str):
                raise ConfigError(
                    f"{path}:{line_no}: field '{self.config.field}' is missing or not a string; "
                    "set the corpus 'field' to the key that holds the text"
                )
            if value.strip():
                docs.append(value)
        return docs

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields every non-empty row's text once, in an order drawn from ``rng``."""
        if self._docs is None:
            self._docs = [d for f in self.files for d in self._read(f)]
        return _shuffled(self._docs, rng)
