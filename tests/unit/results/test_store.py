"""The SQLite results store: atomic job completion, claim semantics, stale resets, exports."""

from __future__ import annotations

import csv
import math
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from instructmtl.errors import InstructMTLError
from instructmtl.results.records import CheckpointRecord, Prediction, RunRecord, ScoreRow, StudyRecord
from instructmtl.results.store import SCORE_COLUMNS, ResultsStore, default_worker, results_path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _score(task: str = "t1", value: float = 0.5, metric: str = "rouge_l", k: int = 2) -> ScoreRow:
    return ScoreRow(
        study_id="s",
        checkpoint_id="arm-0-10",
        arm="arm",
        seed=0,
        step=10,
        task=task,
        task_role="held_out",
        measure="icl",
        encoding="def+pos",
        k=k,
        metric=metric,
        value=value,
        n_instances=20,
    )


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    s = ResultsStore.open(results_path(tmp_path))
    s.record_study(StudyRecord("s", "study", "arms: []\n", "hash1", {"numpy": "2.0"}))
    s.record_checkpoint(CheckpointRecord("arm-0-10", "run-arm-0", "arm", 0, 10, 0.5, "/ckpt", 80))
    yield s
    s.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_complete_job_writes_scores_predictions_and_done_status(store: ResultsStore) -> None:
    assert store.claim_job("icl|a", "icl", default_worker())
    preds = [Prediction("t1", "i1", "out", ("ref", "other"), 1.0)]
    store.complete_job("icl|a", [_score("t1"), _score("t2")], preds)
    assert store.done_jobs() == {"icl|a"}
    rows = store.scores_frame()
    assert [r["task"] for r in rows] == ["t1", "t2"]
    assert rows[0]["config_hash"] == "hash1" and rows[0]["versions_json"] == '{"numpy": "2.0"}'
    assert rows[0]["fraction"] == 0.5  # joined from the checkpoint
    assert store.predictions("icl|a") == preds
    job = store.jobs()[0]
    assert job.status == "done" and job.seconds is not None and job.seconds >= 0


def test_error_inside_the_transaction_writes_nothing(store: ResultsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.claim_job("icl|a", "icl", default_worker())

    def crash(*args: object) -> None:
        raise RuntimeError("killed between the scores and the done flag")

    monkeypatch.setattr(ResultsStore, "_mark_done", crash)
    with pytest.raises(RuntimeError, match="killed between the scores and the done flag"):
        store.complete_job("icl|a", [_score()], [Prediction("t1", "i1", "x", ("x",))])
    assert store.scores_frame() == []
    assert store.predictions("icl|a") == []
    assert store.done_jobs() == set()
    assert store.jobs()[0].status == "running"


def test_process_killed_mid_transaction_leaves_nothing_and_job_is_reset(tmp_path: Path) -> None:
    path = results_path(tmp_path)
    script = textwrap.dedent(
        f"""
        import os
        from instructmtl.results.records import ScoreRow, StudyRecord
        from instructmtl.results.store import ResultsStore, default_worker
        store = ResultsStore.open({str(path)!r})
        store.record_study(StudyRecord("s", "study", "", "h"))
        assert store.claim_job("icl|a", "icl", default_worker())
        ResultsStore._mark_done = lambda *a: os._exit(9)  # the kill lands after the scores were written
        row = ScoreRow("s", "c", "arm", 0, 1, "t", "held_out", "icl", "e", 0, "rouge_l", 0.5, 3)
        store.complete_job("icl|a", [row])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    with ResultsStore.open(path) as store:
        assert store.scores_frame() == []
        job = store.jobs()[0]
        assert job.status == "pending" and "reset" in job.error  # the dead worker's job was reset on open
        assert store.claim_job("icl|a", "icl", default_worker())


def test_claim_semantics(store: ResultsStore) -> None:
    me = default_worker()
    assert store.claim_job("j", "icl", me)
    assert not store.claim_job("j", "icl", "other-host:1")  # running, holder alive
    store.fail_job("j", "OOM")
    failed = store.jobs()[0]
    assert failed.status == "failed" and failed.error == "OOM"
    assert store.claim_job("j", "icl", me)  # failed jobs are retried
    assert store.jobs()[0].attempts == 2
    store.complete_job("j", [_score()])
    assert not store.claim_job("j", "icl", me)  # done is final
    assert store.jobs()[0].error == ""


def test_stale_running_jobs_are_reset_on_open(tmp_path: Path) -> None:
    path = results_path(tmp_path)
    with ResultsStore.open(path) as store:
        store.claim_job("dead", "icl", f"{socket.gethostname()}:{_dead_pid()}")
        store.claim_job("alive", "icl", default_worker())
        store.claim_job("remote", "icl", "some-worker")
    with ResultsStore.open(path) as store:
        status = {j.job_id: j.status for j in store.jobs()}
    assert status == {"dead": "pending", "alive": "running", "remote": "running"}
    with ResultsStore.open(path, lease_s=0.0) as store:  # a zero lease makes every running job stale
        assert {j.status for j in store.jobs()} == {"pending"}


def test_claim_takes_over_a_stale_running_job(store: ResultsStore) -> None:
    store.claim_job("j", "icl", f"{socket.gethostname()}:{_dead_pid()}")
    assert store.claim_job("j", "icl", default_worker())
    assert store.jobs()[0].worker == default_worker()


def test_completing_twice_replaces_and_never_doubles(store: ResultsStore) -> None:
    store.claim_job("j", "icl", default_worker())
    store.complete_job(
        "j", [_score("t1", 0.1), _score("t1", 0.2, metric="exact_match")], [Prediction("t1", "i", "a", ("a",))]
    )
    store.complete_job(
        "j", [_score("t1", 0.3), _score("t1", 0.2, metric="exact_match")], [Prediction("t1", "i", "b", ("b",))]
    )
    rows = store.scores_frame()
    assert len(rows) == 2
    assert {r["metric"]: r["value"] for r in rows} == {"rouge_l": 0.3, "exact_match": 0.2}
    assert [p.prediction for p in store.predictions("j")] == ["b"]


def test_concurrent_claims_give_each_job_to_one_worker(tmp_path: Path) -> None:
    path = results_path(tmp_path)
    ResultsStore.open(path).close()
    wins: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with ResultsStore.open(path, reset_stale=False) as s:  # one connection per thread
            for j in range(15):
                if s.claim_job(f"job{j}", "icl", f"{name}"):
                    with lock:
                        wins.append((f"job{j}", name))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, _ in wins) == sorted(f"job{j}" for j in range(15))


def test_export_round_trips_csv_and_parquet(store: ResultsStore, tmp_path: Path) -> None:
    store.claim_job("j", "icl", default_worker())
    store.complete_job("j", [_score("t1", 1 / 3), _score("t2", 0.1 + 0.2)])
    expected = store.scores_frame()
    csv_path = store.export(tmp_path / "out" / "scores.csv", format="csv")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == SCORE_COLUMNS
        back = list(reader)
    assert [float(r["value"]) for r in back] == [r["value"] for r in expected]  # exact: repr precision
    assert [int(r["k"]) for r in back] == [r["k"] for r in expected]
    pq_path = store.export(tmp_path / "scores.parquet", format="parquet")
    assert pq.read_table(pq_path).to_pylist() == expected
    with pytest.raises(InstructMTLError, match="csv or parquet"):
        store.export(tmp_path / "x.json", format="json")  # type: ignore[arg-type]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_reading_back_runs_checkpoints_and_studies(store: ResultsStore) -> None:
    run = RunRecord(
        "r1",
        "s",
        "arm",
        0,
        "tune",
        "done",
        seconds=12.5,
        examples_seen=80,
        task_counts={"t1": 50, "t2": 30},
        summary={"final_loss": 1.25},
    )
    store.record_run(RunRecord("r1", "s", "arm", 0, "tune", "running"))
    store.record_run(RunRecord("r0", "s", "base", 0, "base", "done"))
    store.record_run(run)  # an update keeps the run's place
    assert store.runs() == [run, RunRecord("r0", "s", "base", 0, "base", "done")]
    assert store.checkpoints()[0].fraction == 0.5
    [study] = store.studies()
    assert study.versions == {"numpy": "2.0"} and study.created_at


def test_user_errors(store: ResultsStore) -> None:
    with pytest.raises(InstructMTLError, match="config hash hash1"):
        store.record_study(StudyRecord("s", "study", "", "hash2"))
    store.record_study(StudyRecord("s", "study", "", "hash1"))  # same hash: a resume, fine
    store.claim_job("j", "icl", default_worker())
    other = ScoreRow("unknown", "c", "a", 0, 1, "t", "held_out", "icl", "e", 0, "rouge_l", 0.5, 3)
    with pytest.raises(InstructMTLError, match="record_study"):
        store.complete_job("j", [_score(), other])
    assert store.scores_frame() == []
    with pytest.raises(InstructMTLError, match="claim_job"):
        store.complete_job("never-claimed", [_score()])
    with pytest.raises(InstructMTLError, match="claim_job"):
        store.fail_job("never-claimed", "boom")


def test_score_rows_validate_their_vocabulary() -> None:
    with pytest.raises(ValueError, match="measure"):
        ScoreRow("s", "c", "a", 0, 1, "t", "held_out", "icl_score", "e", 0, "rouge_l", 0.5, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not finite"):
        ScoreRow("s", "c", "a", 0, 1, "t", "held_out", "icl", "e", 0, "rouge_l", math.nan, 3)
    with pytest.raises(ValueError, match="fraction"):
        CheckpointRecord("c", "r", "a", 0, 10, 1.5, "/p", 0)
