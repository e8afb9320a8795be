"""Typed, frozen configs for the pretraining-text sources, one class per source kind.

A corpus is chosen in YAML by ``kind`` plus that kind's fields, e.g.
``{kind: jsonl, paths: [data/*.jsonl], field: body}``. The ``kind`` field is
the discriminator of :data:`SourceConfig`, so a config is validated once, at
the edge of the program, and the source constructors take exactly these
objects.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from instructmtl.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BuiltinCorpusConfig(_Frozen):
    """The generated corpus from the built-in world (see :mod:`instructmtl.corpus.builtin`).

    The three weights set the share of each document type; they need not sum
    to one. The defaults are the recipe the shipped tiny model was trained
    with, so changing one changes the base model's cache key.

    Attributes:
        world_seed: seed of the built-in world whose facts and tasks are rendered.
        facts_weight: share of prose documents stating the world's facts.
        patterns_weight: share of bursty input→output documents drawn from the built-in task specs.
        lookup_weight: share of documents that each define their own random key→value mapping.
        min_pairs: fewest pairs in one pattern or lookup document.
        max_pairs: most pairs in one pattern or lookup document.
        exclude_families: task families whose pattern documents are never generated (a replay
            arm that leaves a study's held-out families out; see
            :func:`instructmtl.corpus.builtin.families_in`). Left out of the serialized config
            while empty, so adding the option changed no existing recipe's cache key.
        trained_inputs_only: pattern and lookup documents show only inputs from the trained
            half of every input space (the half trained built-in tasks draw from), so held-out
            built-in tasks' eval and few-shot instances never appear as pairs in pretraining or
            replay text. On by default since the base model shipped with issue 11; ``False``
            is the corpus of the earlier base (1,026 held-out instances appeared in their own
            family's pattern documents: ``bench/corpus_leakage.py``).
    """

    kind: Literal["builtin"] = "builtin"
    world_seed: int = 0
    facts_weight: float = Field(default=0.2, ge=0)
    patterns_weight: float = Field(default=0.6, ge=0)
    lookup_weight: float = Field(default=0.2, ge=0)
    min_pairs: int = Field(default=4, ge=1)
    max_pairs: int = Field(default=12, ge=1)
    exclude_families: tuple[str, ...] = Field(default=(), exclude_if=lambda families: not families)
    trained_inputs_only: bool = True

    @field_validator("exclude_families")
    @classmethod
    def _as_set(cls, families: tuple[str, ...]) -> tuple[str, ...]:
        # one corpus, one config: the order or repetition of the names must not change a hash
        return tuple(sorted(set(families)))


class TextCorpusConfig(_Frozen):
    """Plain text files.

    Attributes:
        paths: files or glob patterns (``**`` allowed), resolved in sorted order.
        unit: what one document is: a whole ``file``, a ``paragraph`` (blank-line separated)
            or a ``line`` (one document per line, as in WikiText-style dumps).
        encoding: text encoding of the files.
    """

    kind: Literal["text"] = "text"
    paths: tuple[str, ...] = Field(min_length=1)
    unit: Literal["file", "paragraph", "line"] = "file"
    encoding: str = "utf-8"


class JsonlCorpusConfig(_Frozen):
    """JSON-lines files with one document per row.

    Attributes:
        paths: files or glob patterns, resolved in sorted order.
        field: the key of each row that holds the document text.
    """

    kind: Literal["jsonl"] = "jsonl"
    paths: tuple[str, ...] = Field(min_length=1)
    field: str = "text"


class DatasetsCorpusConfig(_Frozen):
    """Any Hugging Face ``datasets`` dataset with a text column.

    Exactly one of ``path`` (what ``datasets.load_dataset`` takes: a hub id or a
    builder name such as ``"json"``/``"text"``/``"parquet"``) and ``disk_path``
    (a folder written by ``Dataset.save_to_disk``) is set.

    Attributes:
        path: first argument of ``datasets.load_dataset``.
        name: the dataset's configuration name, if it has several.
        data_files: local files for the generic builders (``json``, ``text``, ``parquet``, ...).
        disk_path: a ``save_to_disk`` folder, read with ``datasets.load_from_disk``.
        split: which split to read.
        column: the column holding the document text.
        streaming: read lazily (for corpora larger than memory); shuffling then uses a buffer.
        shuffle_buffer: buffer size of the streaming shuffle.
    """

    kind: Literal["datasets"] = "datasets"
    path: str | None = None
    name: str | None = None
    data_files: tuple[str, ...] | None = None
    disk_path: str | None = None
    split: str = "train"
    column: str = "text"
    streaming: bool = False
    shuffle_buffer: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _one_location(self) -> DatasetsCorpusConfig:
        if (self.path is None) == (self.disk_path is None):
            raise ValueError("set exactly one of 'path' (for load_dataset) and 'disk_path' (for load_from_disk)")
        return self


#: Any source config; pydantic picks the class from ``kind``.
SourceConfig = Annotated[
    BuiltinCorpusConfig | TextCorpusConfig | JsonlCorpusConfig | DatasetsCorpusConfig,
    Field(discriminator="kind"),
]


def excluding_families(corpus: SourceConfig, families: Collection[str]) -> SourceConfig:
    """``corpus`` with the pattern documents of ``families`` left out as well.

    How a replay arm that leaves a study's held-out families out gets its corpus:
    the families are resolved from the study (see
    :func:`instructmtl.corpus.builtin.families_in`) and added to the config, so the
    corpus a run used is still described by its config alone.

    Raises:
        ConfigError: when ``families`` is not empty and ``corpus`` is not the built-in
            corpus (arbitrary text has no task families to leave out).
    """
    if not families:
        return corpus
    if not isinstance(corpus, BuiltinCorpusConfig):
        raise ConfigError(
            f"replay: leaving task families out needs the builtin corpus, not kind '{corpus.kind}' "
            "(arbitrary text has no task families); set replay.corpus.kind: builtin or drop the exclusion"
        )
    return BuiltinCorpusConfig.model_validate(
        corpus.model_dump() | {"exclude_families": (*corpus.exclude_families, *families)}
    )
