"""bench/readme_table.py: the README's figures table is generated from the benches' records."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def readme_table() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by its path
    spec = importlib.util.spec_from_file_location("readme_table", BENCH_DIR / "readme_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(bench: str, commit: str, argv: list[str], **figures: object) -> dict[str, object]:
    run = {"date": "2026-12-03T18:30:05+00:00", "commit": commit, "argv": argv, "load_average": [1.0, 1.0, 1.0]}
    return {"bench": bench, **figures, "run": run}


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    """Three benches, two of them with a record, and a README with an empty figures block."""
    for name in ("transfer_grid", "alpha", "never_run", "_common"):
        (tmp_path / f"{name}.py").write_text("", encoding="utf-8")
    results = tmp_path / "results"
    results.mkdir()
    grid = _record(
        "transfer_grid",
        "abc1234",
        ["bench/transfer_grid.py", "--encoding", "pos-2"],
        encoding="pos-2",
        ratio=3.0712,
        ratio_cpu_seconds=3.08,
        max_mean_loss_gap=6.5e-7,
        grid_s_per_finetune=0.61,
        trainer_s_per_finetune=1.88,
        repeats=5,
    )
    alpha = _record(
        "alpha", "def5678", ["bench/alpha.py"], speed=1234.4, flag=True, nested={"x": 1.0}, mde=0.0326, label="a"
    )
    for record in (grid, alpha):
        (results / f"{record['bench']}.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "# Benchmarks\n\nprose\n\n<!-- figures:start -->\nold\n<!-- figures:end -->\n\n## more prose\n",
        encoding="utf-8",
    )
    return tmp_path


def test_block_lists_every_bench_with_its_headline_figures(readme_table: ModuleType, bench_dir: Path) -> None:
    assert readme_table.main(["--bench-dir", str(bench_dir)]) == 0
    readme = (bench_dir / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- figures:start -->\n")[1].split("<!-- figures:end -->")[0]
    assert block.splitlines() == [
        "| bench | date (UTC) | commit | key figures | command |",
        "|---|---|---|---|---|",
        # not in HEADLINES: every top-level number (not bools, not nested, not strings), sorted by key
        "| `alpha.py` | 2026-12-03 18:30 | def5678 | `mde` 0.0326; `speed` 1234 | `python bench/alpha.py` |",
        "| `never_run.py` | not run since figures became generated | | | |",
        "| `transfer_grid.py` | 2026-12-03 18:30 | abc1234 | `encoding` pos-2; `ratio` 3.07; `ratio_cpu_seconds` 3.08; "
        "`grid_s_per_finetune` 0.61; `trainer_s_per_finetune` 1.88; `max_mean_loss_gap` 6.50e-07 "
        "| `python bench/transfer_grid.py --encoding pos-2` |",
    ]
    assert readme.startswith("# Benchmarks\n\nprose\n\n<!-- figures:start -->\n")
    assert readme.endswith("<!-- figures:end -->\n\n## more prose\n")
    assert readme_table.main(["--bench-dir", str(bench_dir), "--check"]) == 0


def test_check_detects_a_stale_block(readme_table: ModuleType, bench_dir: Path) -> None:
    readme_table.main(["--bench-dir", str(bench_dir)])
    written = (bench_dir / "README.md").read_text(encoding="utf-8")
    path = bench_dir / "results" / "transfer_grid.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**record, "ratio": 2.5}), encoding="utf-8")

    assert readme_table.main(["--bench-dir", str(bench_dir), "--check"]) == 1
    assert (bench_dir / "README.md").read_text(encoding="utf-8") == written  # --check never writes


def test_wildcard_paths_expand_over_keys_and_skip_what_a_run_lacks(
    readme_table: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(readme_table.HEADLINES, "x", ("models/*/ratio", "models/big/ratio", "checks/*/ok"))
    record = {"models": {"tiny": {"ratio": 5.0}, "smollm2_135m": {"ratio": 9.0}}, "checks": [{"ok": 1}]}
    assert readme_table.headline("x", record) == [
        ("models/smollm2_135m/ratio", 9.0),
        ("models/tiny/ratio", 5.0),
        ("checks/0/ok", 1),
    ]


def test_readme_without_markers_is_an_error(readme_table: ModuleType) -> None:
    with pytest.raises(ValueError, match="figures:start"):
        readme_table.rewrite("# no markers\n", "| table |\n")


def test_committed_readme_matches_the_committed_records(readme_table: ModuleType) -> None:
    # run a bench, then `python bench/readme_table.py`: the README never lags the records
    assert readme_table.main(["--check"]) == 0


def test_emit_prints_and_records_the_figures_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_common", BENCH_DIR / "_common.py")
    assert spec is not None and spec.loader is not None
    common = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_common", common)  # its dataclasses look their module up there
    spec.loader.exec_module(common)
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr("sys.argv", ["bench/demo.py", "--fast"])

    common.emit({"bench": "demo", "ratio": 2.5, "r": float("nan")})

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    recorded = json.loads((tmp_path / "results" / "demo.json").read_text(encoding="utf-8"))
    assert printed == recorded
    assert recorded["ratio"] == 2.5 and recorded["r"] is None  # strict JSON: NaN becomes null
    assert recorded["run"]["argv"] == ["bench/demo.py", "--fast"]
    assert set(recorded["run"]) == {"date", "commit", "argv", "load_average"}
    assert list((tmp_path / "results").iterdir()) == [tmp_path / "results" / "demo.json"]  # no temp file left
    with pytest.raises(ValueError, match="bench"):
        common.emit({"ratio": 1.0})
