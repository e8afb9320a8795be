"""Every loader returns the same Task objects for the same data, and the real SNI subset loads whole."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from instructmtl.errors import SplitError, TaskFormatError
from instructmtl.tasks import Instance, Split, TaskCollection, load_tasks, output_type

ROWS = [
    {"task": "copy", "definition": "Copy the input.", "input": "a b", "output": "a b", "category": "Copying"},
    {"task": "upper", "definition": "Uppercase it.", "input": "a", "outputs": ["A", "a"], "id": "u-1"},
    {"task": "copy", "definition": "Copy the input.", "input": "c", "output": ["c"], "category": "Copying"},
]


def _check_rows_collection(collection: TaskCollection, first_id: str) -> None:
    assert list(collection.tasks) == ["copy", "upper"]
    copy, upper = collection.tasks["copy"], collection.tasks["upper"]
    assert copy.categories == ("Copying",) and upper.categories == ()
    assert copy.instances[0] == Instance(first_id, "a b", ("a b",))
    assert copy.instances[1].outputs == ("c",)
    assert upper.instances == (Instance("u-1", "a", ("A", "a")),)
    assert upper.definition == "Uppercase it."


def test_real_sni_subset_loads_completely(sni_dir: Path) -> None:
    collection = load_tasks(sni_dir)
    assert len(collection) == 60
    assert sum(len(t.instances) for t in collection.tasks.values()) == 1905
    split = collection.split("default")
    assert (len(split.train), len(split.test), split.excluded) == (40, 20, ())
    assert "task1390_wscfixed_coreference" in split.test
    # NaN in URL is kept verbatim, not rejected
    assert math.isnan(collection.tasks["task063_first_i_elements"].metadata["URL"][0])
    # a two-part Definition keeps both parts
    gigaword = collection.tasks["task288_gigaword_summarization"]
    assert gigaword.definition.startswith("In this task") and gigaword.definition.endswith("passage.")
    assert max(len(i.outputs) for i in collection.tasks["task613_politifact_text_generation"].instances) == 9
    assert collection.tasks["task020_mctaco_span_based_question"].category == "Answerability Classification"
    assert len(collection.tasks["task1390_wscfixed_coreference"].negative_examples) == 2


def test_every_real_task_file_loads_alone(sni_dir: Path) -> None:
    for path in sorted((sni_dir / "tasks").glob("*.json")):
        collection = load_tasks(path)
        assert list(collection.tasks) == [path.stem]
        assert collection.splits == {}


def test_tiny_fixture_fields(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    assert set(collection.splits) == {"default", "copy_only"}
    assert collection.split("copy_only") == Split(
        train=("tiny001_copy",), test=("tiny003_sentiment",), excluded=("tiny002_reverse_words", "tiny004_first_word")
    )
    sentiment = collection.tasks["tiny003_sentiment"]
    assert sentiment.labels == ("negative", "positive")
    assert output_type(sentiment) == "classification"
    assert output_type(collection.tasks["tiny001_copy"]) == "generation"
    assert sentiment.positive_examples[1].explanation == "A complaint."
    assert sentiment.domains == ("Fiction",) and sentiment.source == ("invented",)
    assert collection.tasks["tiny004_first_word"].categories == ("Text Categorization", "Program Execution")
    assert collection.origin("tiny001_copy").endswith("tiny001_copy.json")


def test_missing_optional_fields_take_schema_defaults(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text(json.dumps({"Definition": "Say hi.", "Instances": [{"input": "x", "output": ["hi"]}]}))
    task = load_tasks(path).tasks["bare"]
    assert task.instances[0].id == "bare-0"
    assert task.input_language == ("English",) and task.categories == () and task.labels is None


def test_jsonl_groups_rows_into_tasks(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS[:2]) + "\n\n" + json.dumps(ROWS[2]) + "\n")
    _check_rows_collection(load_tasks(path), "copy-1")


def _table_rows() -> list[dict[str, object]]:
    """ROWS with one type per column, as Parquet and Arrow need (every key on every row)."""
    rows = []
    for row in ROWS:
        out = row.get("output", row.get("outputs"))
        rows.append(
            {
                "task": row["task"],
                "definition": row["definition"],
                "input": row["input"],
                "outputs": [out] if isinstance(out, str) else out,
                "category": row.get("category"),
                "id": row.get("id"),
            }
        )
    return rows


def test_parquet_matches_jsonl(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(_table_rows()), tmp_path / "rows.parquet")
    _check_rows_collection(load_tasks(tmp_path / "rows.parquet"), "copy-1")


def test_datasets_save_to_disk_and_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    # load_dataset caches what it builds; keep that out of the user's ~/.cache
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")

    data = datasets.Dataset.from_list(_table_rows())
    data.save_to_disk(tmp_path / "single")
    _check_rows_collection(load_tasks(tmp_path / "single"), "copy-1")
    datasets.DatasetDict({"train": data, "test": data.select([1])}).save_to_disk(tmp_path / "multi")
    with pytest.raises(TaskFormatError, match="several splits"):
        load_tasks(tmp_path / "multi")
    assert list(load_tasks(tmp_path / "multi", hf_split="test").tasks) == ["upper"]
    folder = tmp_path / "jsonfolder"
    folder.mkdir()
    (folder / "data.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    _check_rows_collection(load_tasks(f"hf:{folder}"), "copy-1")


def test_parquet_without_required_column_names_it(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{k: v for k, v in r.items() if k != "definition"} for r in _table_rows()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "nodef.parquet")
    with pytest.raises(TaskFormatError, match=r"nodef.parquet: field 'definition': no such column"):
        load_tasks(tmp_path / "nodef.parquet")


def test_unknown_split_lists_known_ones(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    known = r"Known splits: copy_only, default"
    with pytest.raises(SplitError, match=r"unknown split 'defualt'\. Did you mean: default\? " + known):
        collection.split("defualt")


def test_missing_source_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TaskFormatError, match="no such file or folder") as info:
        load_tasks(tmp_path / "nowhere.json")
    assert "\n" not in str(info.value)


def test_split_may_not_name_missing_task(tiny_dir: Path) -> None:
    collection = load_tasks(tiny_dir)
    with pytest.raises(SplitError, match="names task 'ghost'"):
        TaskCollection(tasks=collection.tasks, splits={"x": Split(train=("ghost",), test=())}, source="mem")


def test_jsonl_keeps_line_separator_characters_inside_strings(tmp_path: Path) -> None:
    path = tmp_path / "sep.jsonl"
    row = {"task": "t", "definition": "d", "input": "a\u2028b", "output": "x"}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\r\n", encoding="utf-8")
    assert load_tasks(path).tasks["t"].instances[0].input == "a\u2028b"
