"""Every corpus source serves exact, deterministic, EOS-separated packed blocks."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import datasets
import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from instructmtl.corpus import (
    SOURCES,
    BuiltinCorpusConfig,
    DatasetsCorpusConfig,
    JsonlCorpusConfig,
    SourceConfig,
    TextCorpusConfig,
    build_source,
    document_ids,
    packed_blocks,
)
from instructmtl.errors import ConfigError, UnknownNameError

DOCS = [f"document number {i} says hello {i * 7}" for i in range(12)]


def _text_config(tmp_path: Path) -> TextCorpusConfig:
    for i, doc in enumerate(DOCS):
        (tmp_path / f"doc{i:02d}.txt").write_text(doc, encoding="utf-8")
    return TextCorpusConfig(paths=(str(tmp_path / "*.txt"),))


def _jsonl_config(tmp_path: Path) -> JsonlCorpusConfig:
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"body": d, "id": i}) for i, d in enumerate(DOCS)) + "\n", encoding="utf-8")
    return JsonlCorpusConfig(paths=(str(path),), field="body")


def _disk_config(tmp_path: Path) -> DatasetsCorpusConfig:
    datasets.Dataset.from_dict({"content": DOCS}).save_to_disk(str(tmp_path / "ds"))
    return DatasetsCorpusConfig(disk_path=str(tmp_path / "ds"), column="content")


def _hub_style_config(tmp_path: Path) -> DatasetsCorpusConfig:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps({"text": d}) for d in DOCS) + "\n", encoding="utf-8")
    return DatasetsCorpusConfig(path="json", data_files=(str(path),), streaming=True, shuffle_buffer=4)


FILE_CONFIGS = [_text_config, _jsonl_config, _disk_config, _hub_style_config]


@pytest.mark.parametrize("make_config", FILE_CONFIGS)
def test_one_pass_reads_every_document_once_separated_by_eos(make_config, tmp_path, small_tokenizer):
    source = build_source(make_config(tmp_path))
    docs = list(source.documents(random.Random(0)))
    assert sorted(docs) == sorted(DOCS)
    stream = [i for d in docs for i in document_ids(d, small_tokenizer)]
    blocks = list(packed_blocks(source, small_tokenizer, 16, seed=3, passes=1))
    flat = torch.cat(blocks).tolist()
    # the blocks are the EOS-joined stream of one pass, cut exactly, remainder dropped
    assert flat == _stream_for_seed(source, small_tokenizer, 3)[: len(flat)]
    assert len(flat) == len(stream) // 16 * 16
    assert all(b.shape == (16,) and b.dtype == torch.long for b in blocks)
    assert flat.count(small_tokenizer.eos_token_id) >= len(DOCS) - 1


def _stream_for_seed(source, tokenizer, seed: int) -> list[int]:
    return [i for d in source.documents(random.Random(seed)) for i in document_ids(d, tokenizer)]


@pytest.mark.parametrize("make_config", FILE_CONFIGS)
def test_same_seed_same_blocks_other_seed_other_order(make_config, tmp_path, small_tokenizer):
    source = build_source(make_config(tmp_path))
    first = [b.tolist() for b in itertools.islice(packed_blocks(source, small_tokenizer, 8, seed=1), 30)]
    again = [b.tolist() for b in itertools.islice(packed_blocks(source, small_tokenizer, 8, seed=1), 30)]
    other = [b.tolist() for b in itertools.islice(packed_blocks(source, small_tokenizer, 8, seed=2), 30)]
    assert first == again
    assert first != other


def test_finite_source_repeats_endlessly_by_default(tmp_path, small_tokenizer):
    source = build_source(_text_config(tmp_path))
    one_pass = len(list(packed_blocks(source, small_tokenizer, 8, seed=0, passes=1)))
    endless = list(itertools.islice(packed_blocks(source, small_tokenizer, 8, seed=0), 3 * one_pass))
    assert len(endless) == 3 * one_pass


def test_documents_start_with_bos_and_end_with_eos(small_tokenizer):
    ids = document_ids("apple -> elppa", small_tokenizer)
    assert ids[0] == small_tokenizer.bos_token_id
    assert ids[-1] == small_tokenizer.eos_token_id
    assert small_tokenizer.decode(ids, skip_special_tokens=True) == "apple -> elppa"


def test_builtin_source_packs_exact_deterministic_blocks(small_tokenizer):
    source = build_source(BuiltinCorpusConfig())
    a = list(itertools.islice(packed_blocks(source, small_tokenizer, 64, seed=5), 10))
    b = list(itertools.islice(packed_blocks(source, small_tokenizer, 64, seed=5), 10))
    c = list(itertools.islice(packed_blocks(source, small_tokenizer, 64, seed=6), 10))
    assert all(x.shape == (64,) for x in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    assert any(small_tokenizer.eos_token_id in x.tolist() for x in a)


def test_text_units_split_paragraphs_and_lines(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\n\nthree\n", encoding="utf-8")
    paragraphs = build_source(TextCorpusConfig(paths=(str(tmp_path / "a.txt"),), unit="paragraph"))
    lines = build_source(TextCorpusConfig(paths=(str(tmp_path / "a.txt"),), unit="line"))
    assert sorted(paragraphs.documents(random.Random(0))) == ["one\ntwo", "three"]
    assert sorted(lines.documents(random.Random(0))) == ["one", "three", "two"]


def test_config_kind_selects_the_class():
    adapter = TypeAdapter(SourceConfig)
    assert isinstance(adapter.validate_python({"kind": "jsonl", "paths": ["x.jsonl"]}), JsonlCorpusConfig)
    assert isinstance(adapter.validate_python({"kind": "builtin"}), BuiltinCorpusConfig)
    with pytest.raises(ValidationError, match=r"jsonl\.colum\n  Extra inputs are not permitted"):
        adapter.validate_python({"kind": "jsonl", "paths": ["x"], "colum": "t"})
    with pytest.raises(ValidationError, match="set exactly one of 'path'"):
        DatasetsCorpusConfig(path="json", disk_path="/somewhere")
    with pytest.raises(ValidationError, match="set exactly one of 'path'"):
        DatasetsCorpusConfig()


def test_registry_has_the_four_sources():
    assert SOURCES.names() == ["builtin", "datasets", "jsonl", "text"]
    with pytest.raises(UnknownNameError, match="text"):
        SOURCES.get("txt")


def test_user_errors_name_the_problem(tmp_path, small_tokenizer):
    with pytest.raises(ConfigError, match="matches no file"):
        build_source(TextCorpusConfig(paths=(str(tmp_path / "missing*.txt"),)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "ok"}) + "\n" + json.dumps({"other": 1}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: field 'text'"):
        list(build_source(JsonlCorpusConfig(paths=(str(bad),))).documents(random.Random(0)))
    with pytest.raises(ConfigError, match="column 'body'"):
        build_source(_disk_config(tmp_path).model_copy(update={"column": "body"}))
    with pytest.raises(ConfigError, match="block_len"):
        next(packed_blocks(build_source(BuiltinCorpusConfig()), small_tokenizer, 0, seed=0))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no documents"):
        next(packed_blocks(build_source(JsonlCorpusConfig(paths=(str(empty),))), small_tokenizer, 4, seed=0))
