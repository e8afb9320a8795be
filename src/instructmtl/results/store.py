"""The results store: one SQLite file (``results.sqlite``) per study output folder.

Why SQLite: a study is resumable job by job, possibly from several processes
at once, and a kill must never leave a result half written. SQLite gives
exactly that with the standard library: every write here runs in one
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so two
processes never deadlock upgrading a read lock), and WAL mode lets readers
(the report) work while a runner writes.

The unit of resumption is the *job*: :meth:`ResultsStore.complete_job` writes
a job's scores, its predictions and its ``done`` status in one transaction,
so after a kill either all of them are there or none is. Score rows are
unique on ``(job_id, task, measure, encoding, k, metric)`` and written with
``INSERT OR REPLACE``, so completing a job twice never doubles a row.

A job left ``running`` by a killed process is *stale*. Staleness is decided
from the worker string: a worker named ``host:pid`` (see
:func:`default_worker`) on this host whose process is gone is stale; any
running job older than the store's ``lease_s`` (when set) is stale too. Stale
jobs are reset to ``pending`` when the store is opened and can be claimed
again.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from instructmtl.errors import InstructMTLError
from instructmtl.results._schema import DDL, SCHEMA_VERSION, SCORE_COLUMNS
from instructmtl.results._tables import write_csv, write_parquet
from instructmtl.results.atomic import atomic_write
from instructmtl.results.records import (
    CheckpointRecord,
    JobRecord,
    Prediction,
    RunRecord,
    ScoreRow,
    StudyRecord,
)

__all__ = ["RESULTS_FILENAME", "SCORE_COLUMNS", "ResultsStore", "default_worker", "results_path"]

RESULTS_FILENAME = "results.sqlite"
_RUN_COLUMNS = (
    "run_id",
    "study_id",
    "arm",
    "seed",
    "kind",
    "status",
    "started_at",
    "finished_at",
    "seconds",
    "examples_seen",
    "task_counts_json",
    "summary_json",
)
ExportFormat = Literal["csv", "parquet"]


def results_path(study_dir: str | Path) -> Path:
    """The store file of a study output folder."""
    return Path(study_dir) / RESULTS_FILENAME


def default_worker() -> str:
    """``host:pid`` of this process: the worker name that lets a crash be detected."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 checks existence without touching the process
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class ResultsStore:
    """Typed access to one study's ``results.sqlite``; open with :meth:`open`.

    One instance per process (a sqlite3 connection must not cross a fork).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, lease_s: float | None) -> None:
        self._conn = conn
        self.path = path
        self.lease_s = lease_s

    @classmethod
    def open(cls, path: str | Path, *, lease_s: float | None = None, reset_stale: bool = True) -> ResultsStore:
        """Opens (creating if needed) the store at ``path``.

        Args:
            path: the SQLite file (see :func:`results_path`).
            lease_s: a running job older than this many seconds counts as
                stale whoever holds it (for workers on other hosts); ``None``
                means only dead local ``host:pid`` workers are stale.
            reset_stale: reset stale running jobs to pending now.

        Returns:
            The open store.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; _transaction() opens them explicitly
        conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is crash-safe in WAL mode: a killed process loses nothing committed (a power cut may
        # lose the last transactions, never half of one)
        conn.execute("PRAGMA synchronous=NORMAL")
        # executescript commits any open transaction itself, so the DDL carries its own BEGIN/COMMIT
        conn.executescript("BEGIN IMMEDIATE;" + DDL + "COMMIT;")
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()["value"]
        if int(version) != SCHEMA_VERSION:
            conn.close()
            raise InstructMTLError(
                f"{path}: results store of schema {version}, this instructmtl writes schema {SCHEMA_VERSION}; "
                "run the study into a new output directory (--out), or rerun it after deleting this one"
            )
        store = cls(conn, path, lease_s)
        if reset_stale:
            store.reset_stale_jobs()
        return store

    def close(self) -> None:
        """Closes the connection."""
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    # -- study, runs, checkpoints -------------------------------------------------

    def record_study(self, study: StudyRecord) -> None:
        """Records the study; a second call with the same config hash keeps the first row.

        Raises:
            InstructMTLError: the store already holds this study id with another
                config hash (its results would be mixed with the new config's).
        """
        with self._transaction() as cur:
            row = cur.execute("SELECT config_hash FROM studies WHERE study_id = ?", (study.study_id,)).fetchone()
            if row is not None:
                if row["config_hash"] != study.config_hash:
                    raise InstructMTLError(
                        f"{self.path}: study '{study.study_id}' was run with config hash {row['config_hash']}, "
                        f"not {study.config_hash}; use a new output folder or restore the old config"
                    )
                return
            cur.execute(
                "INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?)",
                (
                    study.study_id,
                    study.name,
                    study.config_yaml,
                    study.config_hash,
                    study.created_at or _now(),
                    json.dumps(dict(study.versions), sort_keys=True),
                ),
            )

    def record_run(self, run: RunRecord) -> None:
        """Inserts or updates (by ``run_id``) one run."""
        with self._transaction() as cur:
            # an upsert, not INSERT OR REPLACE: a replace would give the run a new rowid and reorder runs()
            cur.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS[1:]),
                (
                    run.run_id,
                    run.study_id,
                    run.arm,
                    run.seed,
                    run.kind,
                    run.status,
                    run.started_at,
                    run.finished_at,
                    run.seconds,
                    run.examples_seen,
                    json.dumps(dict(run.task_counts), sort_keys=True),
                    json.dumps(dict(run.summary), sort_keys=True),
                ),
            )

    def record_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        """Inserts or updates (by ``checkpoint_id``) one checkpoint."""
        c = checkpoint
        with self._transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (c.checkpoint_id, c.run_id, c.arm, c.seed, c.step, c.fraction, c.path, c.examples_seen),
            )

    # -- jobs -----------------------------------------------------------------

    def _is_stale(self, worker: str, started_at: str) -> bool:
        host, _, pid = worker.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            return True
        if self.lease_s is not None and started_at:
            age = (datetime.now(UTC) - datetime.fromisoformat(started_at)).total_seconds()
            return age > self.lease_s
        return False

    def claim_job(self, job_id: str, stage: str, worker: str) -> bool:
        """Atomically takes a job for ``worker``.

        A pending, failed or stale running job (or one never seen) becomes
        ``running`` with one more attempt.

        Args:
            job_id: the job's deterministic key.
            stage: the stage that runs it.
            worker: who takes it; use :func:`default_worker` so a crash is detectable.

        Returns:
            True if the caller now holds the job; False if it is done or
            running elsewhere.
        """
        with self._transaction() as cur:
            row = cur.execute("SELECT status, worker, started_at FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None and (
                row["status"] == "done"
                or (row["status"] == "running" and not self._is_stale(row["worker"], row["started_at"]))
            ):
                return False
            cur.execute(
                "INSERT INTO jobs(job_id, stage, status, attempts, started_at, finished_at, worker) "
                "VALUES (?, ?, 'running', 1, ?, '', ?) "
                "ON CONFLICT(job_id) DO UPDATE SET stage = excluded.stage, status = 'running', "
                "attempts = attempts + 1, started_at = excluded.started_at, finished_at = '', "
                "seconds = NULL, worker = excluded.worker",
                (job_id, stage, _now(), worker),
            )
            return True

    def complete_job(
        self,
        job_id: str,
        scores: Sequence[ScoreRow],
        predictions: Sequence[Prediction] = (),
        *,
        seconds: float | None = None,
    ) -> None:
        """Writes a job's scores and predictions and marks it done, all in one transaction.

        Completing a job again replaces its rows (same unique keys), never adds
        to them; its predictions are replaced as a whole.

        Args:
            job_id: a job taken with :meth:`claim_job`.
            scores: its task-level scores.
            predictions: per-instance outputs to keep for inspection.
            seconds: wall time of the job; default: now minus the claim time.

        Raises:
            InstructMTLError: the job was never claimed, or a score names a
                study that was not recorded.
        """
        with self._transaction() as cur:
            self._write_scores(cur, job_id, scores)
            self._write_predictions(cur, job_id, predictions)
            self._mark_done(cur, job_id, seconds)

    def _write_scores(self, cur: sqlite3.Cursor, job_id: str, scores: Sequence[ScoreRow]) -> None:
        stamps: dict[str, tuple[str, str]] = {}
        for study_id in {s.study_id for s in scores}:
            row = cur.execute(
                "SELECT config_hash, versions_json FROM studies WHERE study_id = ?", (study_id,)
            ).fetchone()
            if row is None:
                raise InstructMTLError(f"{self.path}: study '{study_id}' is not recorded; call record_study first")
            stamps[study_id] = (row["config_hash"], row["versions_json"])
        created = _now()
        cur.executemany(
            "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.study_id,
                    job_id,
                    s.checkpoint_id,
                    s.arm,
                    s.seed,
                    s.step,
                    s.task,
                    s.task_role,
                    s.measure,
                    s.encoding,
                    s.k,
                    s.metric,
                    s.subset,
                    float(s.value),
                    s.n_instances,
                    *stamps[s.study_id],
                    created,
                )
                for s in scores
            ],
        )

    def _write_predictions(self, cur: sqlite3.Cursor, job_id: str, predictions: Sequence[Prediction]) -> None:
        cur.execute("DELETE FROM predictions WHERE job_id = ?", (job_id,))
        cur.executemany(
            "INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)",
            [
                (job_id, p.task, p.instance_id, p.prediction, json.dumps(list(p.references)), p.score)
                for p in predictions
            ],
        )

    def _mark_done(self, cur: sqlite3.Cursor, job_id: str, seconds: float | None) -> None:
        row = cur.execute("SELECT started_at FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise InstructMTLError(f"{self.path}: job '{job_id}' was never claimed; call claim_job first")
        finished = _now()
        if seconds is None and row["started_at"]:
            seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(row["started_at"])).total_seconds()
        cur.execute(
            "UPDATE jobs SET status = 'done', error = '', finished_at = ?, seconds = ? WHERE job_id = ?",
            (finished, seconds, job_id),
        )

    def fail_job(self, job_id: str, error: str) -> None:
        """Marks a job failed with its error message (a later claim retries it).

        Raises:
            InstructMTLError: the job was never claimed.
        """
        with self._transaction() as cur:
            updated = cur.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE job_id = ?",
                (error, _now(), job_id),
            ).rowcount
            if updated == 0:
                raise InstructMTLError(f"{self.path}: job '{job_id}' was never claimed; call claim_job first")

    def reset_stale_jobs(self) -> list[str]:
        """Resets stale running jobs (see the module docstring) to pending; returns their ids."""
        with self._transaction() as cur:
            rows = cur.execute("SELECT job_id, worker, started_at FROM jobs WHERE status = 'running'").fetchall()
            stale = [r["job_id"] for r in rows if self._is_stale(r["worker"], r["started_at"])]
            cur.executemany(
                "UPDATE jobs SET status = 'pending', error = 'reset: its worker stopped while running it' "
                "WHERE job_id = ?",
                [(job_id,) for job_id in stale],
            )
        return stale

    def done_jobs(self) -> set[str]:
        """Ids of the jobs whose results are in the store."""
        return {r[0] for r in self._conn.execute("SELECT job_id FROM jobs WHERE status = 'done'")}

    def jobs(self) -> list[JobRecord]:
        """Every job, in id order."""
        rows = self._conn.execute("SELECT * FROM jobs ORDER BY job_id").fetchall()
        return [JobRecord(**dict(r)) for r in rows]

    # -- reading back -------------------------------------------------------------

    def studies(self) -> list[StudyRecord]:
        """Every recorded study, oldest first."""
        rows = self._conn.execute("SELECT * FROM studies ORDER BY created_at, study_id").fetchall()
        return [
            StudyRecord(
                study_id=r["study_id"],
                name=r["name"],
                config_yaml=r["config_yaml"],
                config_hash=r["config_hash"],
                versions=json.loads(r["versions_json"]),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def runs(self) -> list[RunRecord]:
        """Every run, in the order they were first recorded."""
        rows = self._conn.execute("SELECT * FROM runs ORDER BY rowid").fetchall()
        return [
            RunRecord(
                run_id=r["run_id"],
                study_id=r["study_id"],
                arm=r["arm"],
                seed=r["seed"],
                kind=r["kind"],
                status=r["status"],
                started_at=r["started_at"],
                finished_at=r["finished_at"],
                seconds=r["seconds"],
                examples_seen=r["examples_seen"],
                task_counts=json.loads(r["task_counts_json"]),
                summary=json.loads(r["summary_json"]),
            )
            for r in rows
        ]

    def checkpoints(self) -> list[CheckpointRecord]:
        """Every checkpoint, by arm, seed and step."""
        rows = self._conn.execute("SELECT * FROM checkpoints ORDER BY arm, seed, step").fetchall()
        return [CheckpointRecord(**dict(r)) for r in rows]

    def record_fact(self, study_id: str, name: str, value: Any, source: str) -> None:
        """Stores one measured fact about a study (a leakage scan, a sampling distance...), replacing it.

        Facts are what the validity checks read: each is computed where its data is
        (the study setup scans the split and the corpora; a job records what it drew)
        and kept here, so the report needs nothing but the store.

        Args:
            study_id: the study.
            name: a dotted name (``leakage.pretraining``).
            value: anything JSON can hold.
            source: what measured it (a job id, or ``setup``).
        """
        blob = json.dumps(value, sort_keys=True)
        with self._transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?)", (study_id, name, blob, source, _now()))

    def facts(self, study_id: str) -> dict[str, Any]:
        """Every fact recorded for ``study_id``, by name."""
        rows = self._conn.execute("SELECT name, value_json FROM facts WHERE study_id = ? ORDER BY name", (study_id,))
        return {r["name"]: json.loads(r["value_json"]) for r in rows}

    def predictions(self, job_id: str) -> list[Prediction]:
        """The predictions a job kept."""
        rows = self._conn.execute("SELECT * FROM predictions WHERE job_id = ? ORDER BY rowid", (job_id,))
        return [
            Prediction(
                task=r["task"],
                instance_id=r["instance_id"],
                prediction=r["prediction"],
                references=tuple(json.loads(r["references_json"])),
                score=r["score"],
            )
            for r in rows
        ]

    def scores_frame(self, study_id: str | None = None) -> list[dict[str, Any]]:
        """All score rows (of one study, or all), as plain dicts keyed by :data:`SCORE_COLUMNS`.

        ``fraction`` is joined in from the checkpoints table; it is ``None``
        for a score whose checkpoint was never recorded.
        """
        columns = ", ".join("c.fraction" if col == "fraction" else f"s.{col}" for col in SCORE_COLUMNS)
        sql = f"SELECT {columns} FROM scores s LEFT JOIN checkpoints c ON c.checkpoint_id = s.checkpoint_id"
        params: tuple[str, ...] = ()
        if study_id is not None:
            sql += " WHERE s.study_id = ?"
            params = (study_id,)
        sql += " ORDER BY s.arm, s.seed, s.step, s.measure, s.task, s.encoding, s.k, s.metric, s.job_id"
        return [dict(r) for r in self._conn.execute(sql, params)]

    def export(self, path: str | Path, format: ExportFormat = "csv") -> Path:  # noqa: A002 (the brief's name)
        """Writes :meth:`scores_frame` to ``path`` as CSV or parquet, atomically.

        Floats are written with ``repr`` precision (CSV) or as float64
        (parquet), so every number recomputed from an export equals the one
        computed from the store.

        Returns:
            ``path``.
        """
        path = Path(path)
        rows = self.scores_frame()
        if format == "csv":
            return atomic_write(path, lambda tmp: write_csv(tmp, rows))
        if format == "parquet":
            return atomic_write(path, lambda tmp: write_parquet(tmp, rows))
        raise InstructMTLError(f"export format '{format}' is not supported; use csv or parquet")
