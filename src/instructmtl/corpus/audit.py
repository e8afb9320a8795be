"""Which documents a model trained on, reconstructed without training, and what they show.

Packed training reads documents in a fixed order from ``random.Random(seed)``
(see :func:`~instructmtl.corpus.packing.document_stream`) and cuts their
tokens into blocks, so the documents behind the first ``n`` blocks are known
exactly from the corpus config, the seed, the tokenizer and ``n``. That gives
the text to check for held-out instances:

* **pretraining of a built-in base**: ``steps x batch_size`` blocks of
  ``context_len`` tokens, as recorded next to its weights (:func:`scan_pretraining`);
* **replay of an instruction-tuning run**: ``ReplayPlan.replayed_before(batch_size, steps)``
  blocks of ``block_len`` tokens with the run's seed and tokenizer, as the tune
  workflow draws them (:func:`scan_replay`);
* text that cannot be read back (a streamed ``datasets`` corpus, a hub model's
  unknown pretraining data) is reported as *not checked*, which is not an error.

A document whose tokens are cut by the last block is counted as read (a scan
should err towards finding too much). :func:`family_share` says how much of the
built-in text shows given task families.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from instructmtl.corpus.builtin import BuiltinSource, DocumentLabel
from instructmtl.corpus.config import DatasetsCorpusConfig, SourceConfig
from instructmtl.corpus.packing import document_ids, document_stream
from instructmtl.corpus.scan import HeldOutInstance, ScanReport, not_checked, scan_labelled_documents
from instructmtl.corpus.source import CorpusSource, build_source

#: The record a built-in base keeps beside its weights (``models.builtin.METADATA_FILE``; a test
#: pins the two names together, since corpus sits below models and cannot import it).
BASE_RECORD_FILE = "instructmtl_base.json"


class _Recipe(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    corpus: SourceConfig
    seed: int


class _Preset(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    batch_size: int
    context_len: int


class _BaseRecord(BaseModel):
    """The fields of ``models.builtin.BaseMetadata`` that fix a base's pretraining stream."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    recipe: _Recipe
    preset: _Preset
    steps: int


@dataclass(frozen=True)
class PackedText:
    """The documents behind the first ``n_blocks`` blocks that ``packed_blocks`` cut from a corpus.

    That is ``packed_blocks(build_source(corpus), tokenizer, block_len, seed)``.

    Attributes:
        corpus: the source config.
        seed: the packing seed.
        block_len: tokens per block.
        n_blocks: blocks consumed.
        name: what the text is, in words (copied into scan hits and reports).
    """

    corpus: SourceConfig
    seed: int
    block_len: int
    n_blocks: int
    name: str


@dataclass(frozen=True, slots=True)
class PackedDocument:
    """One document read by a packed stream: its text, label (built-in corpus only) and token count."""

    text: str
    label: DocumentLabel | None
    n_tokens: int


def _describe(corpus: SourceConfig, seed: int) -> str:
    return f"{corpus.kind} corpus, seed {seed}"


def pretraining_text(base_dir: Path) -> PackedText | None:
    """The pretraining stream of a built-in base model, from the record beside its weights.

    Returns:
        ``None`` when ``base_dir`` holds no such record (a hub or GGUF model, whose data is unknown).
    """
    path = Path(base_dir) / BASE_RECORD_FILE
    if not path.is_file():
        return None
    record = _BaseRecord.model_validate_json(path.read_text(encoding="utf-8"))
    return PackedText(
        corpus=record.recipe.corpus,
        seed=record.recipe.seed,
        block_len=record.preset.context_len,
        n_blocks=record.steps * record.preset.batch_size,
        name=f"pretraining text of {Path(base_dir).name} ({_describe(record.recipe.corpus, record.recipe.seed)})",
    )


def replay_text(corpus: SourceConfig, seed: int, block_len: int, n_blocks: int) -> PackedText:
    """The replay stream of a tune run.

    Args:
        corpus: the arm's replay corpus (``replay.corpus``, families already excluded if the arm does).
        seed: the run's seed (the tune workflow packs replay with it).
        block_len: ``replay.block_len``.
        n_blocks: replay blocks the run uses in all: ``plan.replayed_before(batch_size, steps)``.
    """
    return PackedText(corpus, seed, block_len, n_blocks, f"replay text ({_describe(corpus, seed)})")


def unscannable_reason(corpus: SourceConfig) -> str | None:
    """Why documents of ``corpus`` cannot be read back for a scan, or ``None`` when they can."""
    if isinstance(corpus, DatasetsCorpusConfig) and corpus.streaming:
        return "a streamed datasets corpus is read lazily through a shuffle buffer and is not read twice"
    return None


def _labelled(source: CorpusSource, seed: int) -> Iterator[tuple[str, DocumentLabel | None]]:
    if isinstance(source, BuiltinSource):
        # endless, so one pass is the whole stream: the same rng draws as document_stream, plus labels
        return source.labelled_documents(random.Random(seed))
    return ((text, None) for text in document_stream(source, seed))


def consumed_documents(text: PackedText, tokenizer: PreTrainedTokenizerBase) -> Iterator[PackedDocument]:
    """Yields, in order, the documents the packed stream reads to fill ``text.n_blocks`` blocks.

    Args:
        text: which stream.
        tokenizer: the tokenizer the stream was packed with (token counts decide where it stops).

    Raises:
        ConfigError: when the corpus cannot be built or yields no document.
    """
    needed = text.n_blocks * text.block_len
    read = 0
    if needed <= 0:
        return
    for doc, label in _labelled(build_source(text.corpus), text.seed):
        n_tokens = len(document_ids(doc, tokenizer))
        yield PackedDocument(doc, label, n_tokens)
        read += n_tokens
        if read >= needed:
            return


def scan_packed(
    text: PackedText, tokenizer: PreTrainedTokenizerBase, instances: Sequence[HeldOutInstance], fix: str
) -> ScanReport:
    """Scans every document a packed stream read; *not checked* when its corpus cannot be read back.

    Args:
        text: which stream.
        tokenizer: the tokenizer it was packed with.
        instances: what to look for.
        fix: what to do about a leak (kept in the report for ``raise_for_leaks``).
    """
    reason = unscannable_reason(text.corpus)
    if reason is not None:
        return not_checked(text.name, reason)
    started = time.perf_counter()
    documents = ((text.name, d.text, d.label) for d in consumed_documents(text, tokenizer))
    report = scan_labelled_documents(documents, instances, source=text.name)
    return replace(report, seconds=time.perf_counter() - started, fix=fix)


def scan_pretraining(base_dir: Path, instances: Sequence[HeldOutInstance]) -> ScanReport:
    """Scans the pretraining text of a base model for held-out instances.

    Args:
        base_dir: the base model's directory; a built-in base (with its record) is scanned,
            any other model is reported as not checked (its pretraining data is unknown).
        instances: every instance of the held-out tasks (see :func:`held_out_instances`).
    """
    text = pretraining_text(base_dir)
    if text is None:
        return not_checked(f"pretraining text of {base_dir}", f"no {BASE_RECORD_FILE}: the pretraining data is unknown")
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    fix = (
        "hold out categories the base did not see these instances of, or pretrain a base whose "
        "corpus leaves those families out (corpus exclude_families)"
    )
    return scan_packed(text, tokenizer, instances, fix)


def scan_replay(
    text: PackedText, tokenizer: PreTrainedTokenizerBase, instances: Sequence[HeldOutInstance]
) -> ScanReport:
    """Scans a run's replay text (see :func:`replay_text`) for held-out instances."""
    fix = "leave the held-out families out of replay (replay.exclude_held_out_families: true) or replay another corpus"
    return scan_packed(text, tokenizer, instances, fix)


@dataclass(frozen=True)
class FamilyShare:
    """How much of a packed stream shows given task families.

    Attributes:
        checked: ``False`` when documents carry no family labels (any corpus but the built-in one).
        documents: documents read.
        tokens: their tokens.
        family_documents: documents that show one of the families (built-in pattern documents).
        family_tokens: their tokens.
        by_family: documents per family shown.
        note: why not checked, else empty.
    """

    checked: bool
    documents: int = 0
    tokens: int = 0
    family_documents: int = 0
    family_tokens: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def share(self) -> float | None:
        """``family_documents / documents`` (``None`` when not checked or empty)."""
        return self.family_documents / self.documents if self.checked and self.documents else None


def family_share(text: PackedText, tokenizer: PreTrainedTokenizerBase, families: Collection[str]) -> FamilyShare:
    """The share of a stream's documents that show one of ``families`` (e.g. a study's held-out ones).

    Args:
        text: which stream (usually :func:`replay_text`).
        tokenizer: the tokenizer it was packed with.
        families: family names (see :func:`~instructmtl.corpus.builtin.families_in`).
    """
    if text.corpus.kind != "builtin":
        return FamilyShare(checked=False, note=f"not checked: a {text.corpus.kind} corpus has no task families")
    wanted = set(families)
    docs = tokens = fam_docs = fam_tokens = 0
    by_family: Counter[str] = Counter()
    for doc in consumed_documents(text, tokenizer):
        docs, tokens = docs + 1, tokens + doc.n_tokens
        family = doc.label.family if doc.label is not None else None
        if family is not None and family in wanted:
            fam_docs, fam_tokens = fam_docs + 1, fam_tokens + doc.n_tokens
            by_family[family] += 1
    return FamilyShare(True, docs, tokens, fam_docs, fam_tokens, dict(sorted(by_family.items())))
