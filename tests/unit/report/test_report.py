"""build_report: Markdown + self-contained HTML with embedded figures, from the store alone."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from instructmtl.analysis import Check
from instructmtl.errors import ConfigError, InstructMTLError
from instructmtl.report import AnalysisSettings, BuiltReport, analysis_settings, build_report
from instructmtl.results.store import results_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ARGS = {
    "baseline_arm": "baseline",
    "replay_arms": ["replay_0.2"],
    "seed": 3,
    "n_resamples": 200,
    "excluded_arms": ["replay_0.2"],
}
CHECKS = (
    Check("tuning fitted (baseline)", True, 0.7, 1.8, "train NLL 0.7 vs base 2.0", ("*",)),
    Check("fine-tuning helps", False, -0.02, 0.0, "base transfer curve slope -0.02 per step (needs > 0)", ("1",)),
    Check("no leakage (replay text)", None, float("nan"), 0.0, "streamed corpus: not scanned", ("4",)),
)
IDS = ["1", "1.nll", "2.change", "2.points", "2.levels", "3", "4.transfer.replay_0.2", "4.icl.replay_0.2", "5"]


@pytest.fixture(scope="module")
def built(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    return build_report(results_path(study_dir), tmp_path_factory.mktemp("report"), **ARGS, checks=CHECKS)


def test_report_has_checks_claims_figures_tables_and_appendix(built: BuiltReport) -> None:
    verdicts = {c.id: c.verdict for c in built.claims}
    assert list(verdicts) == IDS
    assert verdicts["1"] == verdicts["1.nll"] == "invalid"  # the failed check guards claim 1
    assert verdicts["2.points"] == "supported" and verdicts["3"] == "supported"  # built in by construction

    html = built.html.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == len(built.figures) == 5
    assert all(base64.b64decode(img).startswith(PNG_MAGIC) for img in images)
    assert not re.search(r'(src|href)="(http|/|\.)', html)  # nothing external
    assert "<th>verdict</th>" in html and 'class="supported"' in html
    assert "4.icl.replay_0.2" in html and "name: replay_0.2" in html  # claims table and config appendix

    md = built.markdown.read_text(encoding="utf-8")
    assert md.index("## Validity checks") < md.index("## Claims")  # checks come first
    assert "| fine-tuning helps | failed | -0.02 | 0 | base transfer curve slope" in md
    assert "| no leakage (replay text) | not checked | n/a | 0 |" in md
    assert "| id | claim | estimate | 95% interval | MDE (80% power) | tasks | seeds | verdict | reason |" in md
    assert "| invalid | failed check: fine-tuning helps (base transfer curve slope -0.02" in md
    assert 'class="failed"' in html and 'class="invalid"' in html
    for figure in built.figures:
        assert f"figures/{figure.name}" in md and figure.read_bytes().startswith(PNG_MAGIC)
    assert "### Package versions" in md and "| numpy |" in md
    assert "| baseline-s0 | baseline | 0 | tune | done | 1.5 |" in md  # run times from the runs table
    assert not list(built.html.parent.glob("**/*.tmp"))


def test_claims_json_has_every_claim_and_check(built: BuiltReport) -> None:
    data = json.loads(built.claims_json.read_text(encoding="utf-8"))
    assert built.claims_json.parent == built.markdown.parent
    assert [c["id"] for c in data["claims"]] == IDS
    fields = {
        "id",
        "statement",
        "estimate",
        "ci_low",
        "ci_high",
        "verdict",
        "reason",
        "n_tasks",
        "n_seeds",
        "details",
        "mde",
    }
    assert all(fields <= c.keys() for c in data["claims"])
    claim1 = data["claims"][0]
    assert claim1["mde"] > 0 and "variance of the mean, by source" in claim1["details"]  # a design property
    assert data["claims"][2]["mde"] > 0  # correlation claims too (Fisher z at the points' count)
    assert claim1["verdict"] == "invalid" and "fine-tuning helps" in claim1["reason"] and claim1["estimate"] < 0
    change = data["claims"][2]
    assert change["verdict"] != "inconclusive" or "subsets" not in change["reason"]  # the halves reached it
    assert "transfer: reliability (Spearman-Brown)" in change["details"]
    assert data["checks"] == [c.to_json() for c in CHECKS]
    assert data["checks"][2]["value"] is None and data["checks"][2]["passed"] is None
    assert set(data["checks"][0]) == {"name", "passed", "value", "threshold", "detail", "claims"}


def test_report_without_checks_says_so(study_dir: Path, tmp_path: Path) -> None:
    plain = build_report(results_path(study_dir), tmp_path, **ARGS, checks=())
    assert "No validity checks were handed to this report" in plain.markdown.read_text(encoding="utf-8")
    assert json.loads(plain.claims_json.read_text(encoding="utf-8"))["checks"] == []
    assert {c.id: c.verdict for c in plain.claims}["1"] == "supported"  # forgetting is built in


def test_report_is_deterministic_by_seed(built: BuiltReport, study_dir: Path, tmp_path: Path) -> None:
    again = build_report(results_path(study_dir), tmp_path, **ARGS, checks=CHECKS)
    assert again.markdown.read_text() == built.markdown.read_text()
    assert again.html.read_bytes() == built.html.read_bytes()  # figures included, byte for byte
    assert [c.to_json() for c in again.claims] == [c.to_json() for c in built.claims]
    assert again.claims_json.read_text() == built.claims_json.read_text()


def test_missing_store_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InstructMTLError, match="no results store"):
        build_report(tmp_path / "results.sqlite", tmp_path, baseline_arm="a", replay_arms=[])
    assert not (tmp_path / "results.sqlite").exists()  # reporting never creates a store


@pytest.mark.parametrize(
    ("config", "arms"),
    [
        ("arms:\n  - name: prop\n  - name: uniform\n  - name: replay_0.1\n", ("prop", ("replay_0.1",))),
        ("arms:\n  prop: {}\n  replay: {}\n", ("prop", ("replay",))),
        ("arms:\n  - name: replay_a\n  - name: b\n", ("replay_a", ())),  # the baseline is never its own replay arm
        ("arms:\n  - name: a\nanalysis:\n  baseline_arm: b\n  replay_arms: [c]\n", ("b", ("c",))),
        ("analysis:\n  baseline_arm: b\n  replay_arms: []\n", ("b", ())),  # no arms list needed then
        # the study config dumps unset keys as null: they count as absent
        (
            "arms:\n  - name: a\n  - name: replay\nanalysis: {baseline_arm: null, replay_arms: null}\n",
            ("a", ("replay",)),
        ),
    ],
)
def test_analysis_arms_from_the_study_config(config: str, arms: tuple[str, tuple[str, ...]]) -> None:
    settings = analysis_settings(config, "cfg")
    assert (settings.baseline_arm, settings.replay_arms) == arms
    assert (settings.n_resamples, settings.seed) == (2000, 0)


def test_bootstrap_settings_from_the_study_config() -> None:
    config = "arms: [{name: a}]\nanalysis: {n_bootstrap: 500, seed: 7}\n"
    assert analysis_settings(config, "cfg") == AnalysisSettings("a", (), 500, 7, ())


def test_claim_3_leaves_out_arms_that_change_what_is_trained() -> None:
    config = """\
arms:
  - {name: prop, sampler: {name: proportional, cap: 40}}
  - {name: uniform, sampler: uniform, regularizer: {name: none, params: {}}, replay: {ratio: 0.0}, lora: null}
  - {name: mix, replay: {ratio: 0.25}}
  - {name: l2sp, regularizer: {name: l2sp, alpha: 0.01}}
  - {name: ewc, regularizer: ewc}
  - {name: lora, lora: {rank: 16}}
  - {name: replay_named}
analysis: {baseline_arm: prop, replay_arms: [replay_named]}
"""
    assert analysis_settings(config, "cfg").excluded_arms == ("mix", "l2sp", "ewc", "lora", "replay_named")


def test_analysis_arms_without_arms_or_analysis_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="analysis.baseline_arm"):
        analysis_settings("seeds: [0]\n", "cfg")


def test_report_of_a_study_still_running_marks_claims_inconclusive(tmp_path: Path) -> None:
    import numpy as np

    from unit.analysis.synthetic import ArmTruth, fill_store, synthetic_rows

    rows = [
        r
        for r in synthetic_rows({"baseline": ArmTruth()}, rng=np.random.default_rng(0), n_tasks=4, n_train=2)
        if r["measure"] == "icl"
    ]  # no fine-tune or MTL job has finished yet
    fill_store(results_path(tmp_path), rows)
    built = build_report(
        results_path(tmp_path), tmp_path / "report", baseline_arm="baseline", replay_arms=[], n_resamples=100
    )
    assert {c.verdict for c in built.claims} == {"inconclusive"}
    assert len(built.figures) == 5 and built.html.stat().st_size > 0


def test_appendix_estimate_and_validity_notes(study_dir: Path, tmp_path: Path) -> None:
    """The cost estimate recorded at setup (fact ``cost.estimate``) appears per stage and for the whole study."""
    import shutil

    from instructmtl.results.store import ResultsStore

    folder = tmp_path / "study"
    shutil.copytree(study_dir, folder)
    with ResultsStore.open(results_path(folder)) as store:
        study_id = store.studies()[0].study_id
        stages = {job.stage for job in store.jobs()}
        estimate = {
            "device": {"name": "cpu-2core", "basis": "fitted on seeds-a"},
            "wall_seconds": 600.0,
            "stages": {stage: {"job_seconds": 123.0} for stage in stages},
        }
        store.record_fact(study_id, "cost.estimate", estimate, "setup")
        store.record_fact(
            study_id, "notes.validity", ["The base model (x-Instruct) is already instruction-tuned."], "setup"
        )
    built = build_report(results_path(folder), tmp_path / "report", **ARGS, checks=CHECKS)
    md = built.markdown.read_text()
    assert md.index("### Validity notes") < md.index("## Claims")
    assert json.loads(built.claims_json.read_text())["notes"] == [
        "The base model (x-Instruct) is already instruction-tuned."
    ]
    assert "| seconds | estimated seconds |" in md
    assert all(re.search(rf"\| {re.escape(stage)} \|[^\n]*\| 123 \|", md) for stage in stages)
    assert "estimated 10.0 min of wall time on cpu-2core (fitted on seeds-a)" in md
    assert "estimate / measured" in md
