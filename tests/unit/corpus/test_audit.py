"""The audit rebuilds exactly the documents packed training read, and scans or labels them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from instructmtl.corpus import (
    BASE_RECORD_FILE,
    BuiltinCorpusConfig,
    DatasetsCorpusConfig,
    HeldOutInstance,
    TextCorpusConfig,
    build_source,
    consumed_documents,
    document_ids,
    document_stream,
    excluding_families,
    families_in,
    family_share,
    packed_blocks,
    pretraining_text,
    replay_text,
    scan_pretraining,
    scan_replay,
)

PLANTED = HeldOutInstance("heldout_task", "heldout_task-7", "kale", "green")
DOCS = [f"document number {i} says hello {i * 7}" for i in range(12)]


def _text_corpus(tmp_path: Path, planted: bool = True) -> TextCorpusConfig:
    for i, doc in enumerate([*DOCS, "kale -> green"] if planted else DOCS):
        (tmp_path / f"doc{i:02d}.txt").write_text(doc, encoding="utf-8")
    return TextCorpusConfig(paths=(str(tmp_path / "*.txt"),))


def _check_consumption(text, tokenizer) -> list:
    """The consumed documents' tokens start with exactly the packed blocks, and the last one was needed."""
    docs = list(consumed_documents(text, tokenizer))
    needed = text.n_blocks * text.block_len
    stream = [i for d in docs for i in document_ids(d.text, tokenizer)]
    packed = packed_blocks(build_source(text.corpus), tokenizer, text.block_len, text.seed)
    blocks = itertools.islice(packed, text.n_blocks)
    assert stream[:needed] == torch.cat(list(blocks)).tolist()
    assert [d.n_tokens for d in docs] == [len(document_ids(d.text, tokenizer)) for d in docs]
    assert sum(d.n_tokens for d in docs[:-1]) < needed <= sum(d.n_tokens for d in docs)
    return docs


def test_builtin_consumption_matches_packed_blocks_and_carries_labels(small_tokenizer):
    text = replay_text(BuiltinCorpusConfig(), seed=3, block_len=32, n_blocks=40)
    docs = _check_consumption(text, small_tokenizer)
    assert [d.text for d in docs] == list(itertools.islice(document_stream(build_source(text.corpus), 3), len(docs)))
    assert {d.label.kind for d in docs} == {"facts", "patterns", "lookup"}


def test_finite_corpus_consumption_runs_over_several_passes(tmp_path, small_tokenizer):
    text = replay_text(_text_corpus(tmp_path), seed=1, block_len=16, n_blocks=40)
    docs = _check_consumption(text, small_tokenizer)
    assert len(docs) > 13 and all(d.label is None for d in docs)


def test_replay_scan_finds_a_planted_instance_only_once_it_is_read(tmp_path, small_tokenizer):
    corpus = _text_corpus(tmp_path)
    order = list(itertools.islice(document_stream(build_source(corpus), 5), 13))
    position = order.index("kale -> green")
    before = sum(len(document_ids(d, small_tokenizer)) for d in order[:position])
    assert position > 0 and before >= 8  # seed 5 puts the planted document after others
    # a stream that stops before the planted document finds nothing
    short = replay_text(corpus, seed=5, block_len=8, n_blocks=before // 8)
    assert scan_replay(short, small_tokenizer, [PLANTED]).hits == ()
    report = scan_replay(replay_text(corpus, seed=5, block_len=8, n_blocks=200), small_tokenizer, [PLANTED])
    assert report.checked and report.complete
    assert report.hits[0].document == position and report.hits[0].source == "replay text (text corpus, seed 5)"
    assert "replay.exclude_held_out_families" in report.fix


def _fake_base(tmp_path: Path, tokenizer, corpus, steps: int = 3) -> Path:
    base = tmp_path / "my-base"
    tokenizer.save_pretrained(base)
    record = {
        "key": "0" * 16,
        "recipe": {"preset": "micro", "seed": 2, "steps": steps, "corpus": corpus.model_dump(mode="json")},
        "preset": {"batch_size": 4, "context_len": 16, "vocab_size": 300},
        "steps": steps,
    }
    (base / BASE_RECORD_FILE).write_text(json.dumps(record), encoding="utf-8")
    return base


def test_pretraining_scan_reads_the_recipe_beside_the_weights(tmp_path, small_tokenizer):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    base = _fake_base(tmp_path, small_tokenizer, _text_corpus(corpus_dir), steps=20)
    text = pretraining_text(base)
    assert (text.seed, text.block_len, text.n_blocks) == (2, 16, 80)
    assert text.name == "pretraining text of my-base (text corpus, seed 2)"
    report = scan_pretraining(base, [PLANTED])
    assert report.checked and report.hits and report.hits[0].task == "heldout_task"
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = _fake_base(clean_dir, small_tokenizer, _text_corpus(clean_dir, planted=False), steps=20)
    assert scan_pretraining(clean, [PLANTED]).hits == ()


def test_shipped_base_record_is_read_like_its_metadata():
    from instructmtl.models.builtin import METADATA_FILE
    from instructmtl.workflows.pretrain import read_metadata, shipped_dir

    base = shipped_dir("tiny")
    meta = read_metadata(base)
    text = pretraining_text(base)
    assert BASE_RECORD_FILE == METADATA_FILE
    assert text.corpus == meta.recipe.corpus and text.seed == meta.recipe.seed
    assert text.n_blocks * text.block_len == meta.tokens_seen == 3000 * 8 * 512


def test_unknown_or_streamed_text_is_reported_not_checked(tmp_path, small_tokenizer):
    hub_like = tmp_path / "hub-model"
    hub_like.mkdir()
    report = scan_pretraining(hub_like, [PLANTED])
    assert not report.checked and "pretraining data is unknown" in report.note
    streamed = DatasetsCorpusConfig(path="json", data_files=("x.jsonl",), streaming=True)
    report = scan_replay(replay_text(streamed, 0, 16, 10), small_tokenizer, [PLANTED])
    assert not report.checked and "streamed" in report.note


def test_family_share_counts_documents_of_the_given_families(small_tokenizer):
    families = families_in(["Sorting", "Sentiment Analysis"])
    text = replay_text(BuiltinCorpusConfig(), seed=0, block_len=32, n_blocks=100)
    share = family_share(text, small_tokenizer, families)
    docs = list(consumed_documents(text, small_tokenizer))
    expected = [d for d in docs if d.label.family in families]
    assert share.checked and share.documents == len(docs) and share.family_documents == len(expected) > 0
    assert share.share == pytest.approx(len(expected) / len(docs))
    assert share.family_tokens == sum(d.n_tokens for d in expected)
    assert set(share.by_family) <= set(families)

    left_out = replay_text(excluding_families(BuiltinCorpusConfig(), families), seed=0, block_len=32, n_blocks=100)
    assert family_share(left_out, small_tokenizer, families).share == 0.0


def test_family_share_of_arbitrary_text_is_not_checked(tmp_path, small_tokenizer):
    share = family_share(replay_text(_text_corpus(tmp_path), 0, 16, 10), small_tokenizer, ["sort_letters"])
    assert not share.checked and share.share is None and "no task families" in share.note


def test_a_stream_of_no_blocks_reads_nothing(small_tokenizer):
    assert list(consumed_documents(replay_text(BuiltinCorpusConfig(), 0, 16, 0), small_tokenizer)) == []
