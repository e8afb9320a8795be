"""`instructmtl report` and `instructmtl export` through typer's runner."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from instructmtl.cli import app
from instructmtl.errors import InstructMTLError
from instructmtl.results.store import ResultsStore, results_path

runner = CliRunner()


def test_report_json_reads_arms_from_the_stored_config(study_dir: Path, tmp_path: Path) -> None:
    # the stored config sets analysis.n_bootstrap: 100 and leaves the arms to their defaults
    result = runner.invoke(app, ["report", str(study_dir), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert Path(out["html"]).is_file() and Path(out["markdown"]).parent == tmp_path
    ids = [c["id"] for c in out["claims"]]
    # config: arms baseline, uniform, replay_0.2 → baseline first, replay_0.2 by its name
    assert "4.transfer.replay_0.2" in ids and "1" in ids
    assert "100 resamples, bootstrap seed 0" in (tmp_path / "report.md").read_text()
    assert all(c["verdict"] in {"supported", "not supported", "inconclusive", "invalid"} for c in out["claims"])
    assert json.loads(Path(out["claims_json"]).read_text())["claims"] == out["claims"]
    # the CLI computes the validity checks from the store (the synthetic store has scores, no facts)
    names = [c["name"] for c in out["checks"]]
    assert "tuning fitted (baseline)" in names and "fine-tuning helps the base" in names
    if any(c["passed"] is False and "*" in c["claims"] for c in out["checks"]):
        assert all(c["verdict"] == "invalid" for c in out["claims"])
    # replay_0.2 (a replay arm by its name) does not compete in claim 3
    claim3 = next(c for c in out["claims"] if c["id"] == "3")
    assert claim3["details"]["left out (replay, regularized, LoRA)"] == "replay_0.2"


def test_report_options_override_the_config_and_print_a_table(study_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            str(study_dir),
            "--resamples",
            "100",
            "--out",
            str(tmp_path),
            "--baseline-arm",
            "uniform",
            "--replay-arm",
            "baseline",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    ]
    verdicts = {row[0]: row[-1] for row in rows}
    # the "replay" arm (baseline) forgets less than the new baseline (uniform) by construction:
    # transfer -0.1 against -0.15, ICL shift -0.05 against -0.1
    assert verdicts["4.transfer.baseline"] == verdicts["4.icl.baseline"] == "supported"
    assert "wrote" in result.stdout
    assert "claims.json" in result.stdout and "mitigates" not in result.stdout  # no statements in the table
    assert "'uniform'" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export(study_dir: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"scores.{fmt}"
    result = runner.invoke(app, ["export", str(study_dir), "--format", fmt, "--out", str(target), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    with ResultsStore.open(results_path(study_dir), reset_stale=False) as store:
        expected = store.scores_frame()
    assert info["rows"] == len(expected) > 0
    if fmt == "csv":
        with target.open(newline="") as handle:
            assert len(list(csv.DictReader(handle))) == len(expected)
    else:
        assert pq.read_table(target).to_pylist() == expected


def test_export_default_path(study_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "study"
    shutil.copytree(study_dir, copy)
    result = runner.invoke(app, ["export", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "scores.csv").is_file()


def test_missing_store_is_a_one_line_user_error(tmp_path: Path) -> None:
    for command in (["report", str(tmp_path)], ["export", str(tmp_path)]):
        result = runner.invoke(app, command)
        assert isinstance(result.exception, InstructMTLError)
        assert "no results store" in str(result.exception)
