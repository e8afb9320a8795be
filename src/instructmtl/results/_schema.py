"""SQL of the results store: table definitions and the exported score columns."""

from __future__ import annotations

SCHEMA_VERSION = 2

# Column order of ``ResultsStore.scores_frame`` rows and of the CSV/parquet
# export: the scores table plus the checkpoint's step fraction (joined in, so
# an export alone is enough to redraw the report's curves).
SCORE_COLUMNS: tuple[str, ...] = (
    "study_id",
    "job_id",
    "checkpoint_id",
    "arm",
    "seed",
    "step",
    "fraction",
    "task",
    "task_role",
    "measure",
    "encoding",
    "k",
    "metric",
    "subset",
    "value",
    "n_instances",
    "config_hash",
    "versions_json",
    "created_at",
)
INT_COLUMNS = frozenset({"seed", "step", "k", "n_instances"})
FLOAT_COLUMNS = frozenset({"fraction", "value"})

DDL = f"""
CREATE TABLE IF NOT EXISTS meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
CREATE TABLE IF NOT EXISTS studies(
    study_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config_yaml TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs(
    run_id TEXT PRIMARY KEY,
    study_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    seed INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('base', 'tune')),
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    seconds REAL,
    examples_seen INTEGER,
    task_counts_json TEXT NOT NULL,
    summary_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints(
    checkpoint_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    seed INTEGER NOT NULL,
    step INTEGER NOT NULL,
    fraction REAL NOT NULL,
    path TEXT NOT NULL,
    examples_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs(
    job_id TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    seconds REAL,
    worker TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS scores(
    study_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    seed INTEGER NOT NULL,
    step INTEGER NOT NULL,
    task TEXT NOT NULL,
    task_role TEXT NOT NULL CHECK (task_role IN ('train', 'held_out')),
    measure TEXT NOT NULL CHECK (measure IN ('icl', 'mtl_fit', 'mtl_gen', 'finetune')),
    encoding TEXT NOT NULL,
    k INTEGER NOT NULL,
    metric TEXT NOT NULL CHECK (metric IN ('rouge_l', 'exact_match', 'accuracy', 'accuracy_norm', 'target_nll')),
    subset TEXT NOT NULL CHECK (subset IN ('', 'a', 'b')),
    value REAL NOT NULL,
    n_instances INTEGER NOT NULL,
    config_hash TEXT NOT NULL,
    versions_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (job_id, task, measure, encoding, k, metric, subset)
);
CREATE INDEX IF NOT EXISTS scores_by_study ON scores(study_id);
CREATE TABLE IF NOT EXISTS predictions(
    job_id TEXT NOT NULL,
    task TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    prediction TEXT NOT NULL,
    references_json TEXT NOT NULL,
    score REAL
);
CREATE INDEX IF NOT EXISTS predictions_by_job ON predictions(job_id);
CREATE TABLE IF NOT EXISTS facts(
    study_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value_json TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (study_id, name)
);
"""
