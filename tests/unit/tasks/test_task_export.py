"""Exporting to the SNI layout and loading back gives the same tasks and splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructmtl.errors import InstructMTLError
from instructmtl.tasks import TaskCollection, load_tasks, write_sni_dir


def _assert_same(original: TaskCollection, loaded: TaskCollection) -> None:
    assert list(loaded.tasks) == sorted(original.tasks)  # the SNI loader reads files in name order
    assert loaded.tasks == original.tasks
    assert loaded.splits == original.splits


def test_round_trip_real_sni(sni_dir: Path, tmp_path: Path) -> None:
    original = load_tasks(sni_dir)
    written = write_sni_dir(original, tmp_path / "out")
    assert len(written) == 60 + 2  # task files, then train/test lists (no excluded list)
    _assert_same(original, load_tasks(tmp_path / "out"))


def test_round_trip_keeps_labels_and_excluded(tiny_dir: Path, tmp_path: Path) -> None:
    original = load_tasks(tiny_dir)
    write_sni_dir(original, tmp_path)
    loaded = load_tasks(tmp_path)
    _assert_same(original, loaded)
    assert loaded.tasks["tiny003_sentiment"].labels == ("negative", "positive")
    assert (tmp_path / "splits" / "copy_only" / "excluded_tasks.txt").read_text().split() == [
        "tiny002_reverse_words",
        "tiny004_first_word",
    ]


def test_round_trip_builtin(tmp_path: Path) -> None:
    original = load_tasks("builtin", n_instances=5)
    write_sni_dir(original, tmp_path)
    loaded = load_tasks(tmp_path)
    assert loaded.tasks == original.tasks  # builtin order is catalog order, which may differ from file order
    assert loaded.splits == original.splits
    assert set(original.split("default").test)


def test_export_is_repeatable_but_refuses_foreign_files(tiny_dir: Path, tmp_path: Path) -> None:
    collection = load_tasks(tiny_dir)
    write_sni_dir(collection, tmp_path)
    write_sni_dir(collection, tmp_path)  # a second run over its own output is fine
    assert not list(tmp_path.rglob("*.tmp"))
    (tmp_path / "tasks" / "stranger.json").write_text(json.dumps({}))
    with pytest.raises(InstructMTLError, match=r"1 task file\(s\) or split\(s\) not in this export \(stranger.json\)"):
        write_sni_dir(collection, tmp_path)
