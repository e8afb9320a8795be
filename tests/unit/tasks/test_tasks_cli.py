"""`instructmtl tasks list|show|validate|export` through typer's runner and, for exit codes, the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from instructmtl.cli import app
from instructmtl.tasks import load_tasks

runner = CliRunner()


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the console-script entry point (which turns user errors into one line and exit 2)."""
    code = "from instructmtl.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_list_json_builtin() -> None:
    result = runner.invoke(app, ["tasks", "list", "--suite", "builtin", "--json", "--n-instances", "5"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(load_tasks("builtin", n_instances=5))
    assert set(rows[0]) == {"name", "categories", "output_type", "n_instances"}
    assert {r["output_type"] for r in rows} <= {"generation", "classification"}


def test_list_json_path(tiny_dir: Path) -> None:
    result = runner.invoke(app, ["tasks", "list", "--suite", str(tiny_dir), "--json"])
    rows = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["tiny003_sentiment"] == {
        "name": "tiny003_sentiment",
        "categories": ["Sentiment Analysis"],
        "output_type": "classification",
        "n_instances": 8,
    }
    assert rows["tiny002_reverse_words"]["output_type"] == "generation"


def test_show_json_and_text(tiny_dir: Path) -> None:
    result = runner.invoke(app, ["tasks", "show", "tiny001_copy", "--suite", str(tiny_dir), "--json", "-n", "2"])
    shown = json.loads(result.stdout)
    assert shown["definition"] == "Copy the input text exactly."
    assert [i["id"] for i in shown["instances"]] == ["tiny001-0", "tiny001-1"]
    assert shown["negative_examples"][0]["output"] == "car red"
    text = runner.invoke(app, ["tasks", "show", "tiny001_copy", "--suite", str(tiny_dir)]).stdout
    assert "Copy the input text exactly." in text and "tiny001-2" in text and "tiny001-3" not in text


def test_validate_real_sni_counts(sni_dir: Path) -> None:
    result = runner.invoke(app, ["tasks", "validate", str(sni_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["n_tasks"], summary["n_instances"]) == (60, 1905)
    assert summary["categories"]["Word Analogy"] == {"tasks": 3, "instances": 110}
    assert summary["splits"] == {"default": {"train": 40, "test": 20, "excluded": 0}}
    table = _main("tasks", "validate", str(sni_dir))
    assert table.returncode == 0 and "Word Analogy" in table.stdout and "split default: 40 train" in table.stdout


def test_validate_broken_exits_2_with_one_line(broken_dir: Path) -> None:
    result = _main("tasks", "validate", str(broken_dir / "duplicate_ids.json"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "duplicate_ids.json" in lines[0] and "Instances[2].id" in lines[0] and "fix:" in lines[0]


def test_export_builtin_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    result = runner.invoke(app, ["tasks", "export", "builtin", str(out), "--n-instances", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    original = load_tasks("builtin", n_instances=4)
    assert report == {"out_dir": str(out), "tasks": len(original), "split_files": 2}
    exported = load_tasks(out)
    assert exported.tasks == original.tasks
    assert exported.split("default") == original.split("default")


def test_show_prints_brackets_verbatim(sni_dir: Path) -> None:
    # SNI inputs hold Python-style lists; they must not be read as rich markup
    result = runner.invoke(app, ["tasks", "show", "task063_first_i_elements", "--suite", str(sni_dir), "-n", "1"])
    assert result.exit_code == 0, result.output
    assert "input: 7, ['q', 'q', '6047'" in result.stdout
