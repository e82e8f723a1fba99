"""Metadata tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

The code reads and writes through these definitions; every schema change adds a
migration and bumps ``SCHEMA_REVISION``. A test checks the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_REVISION = "0004"

metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("host", sa.String(256)),
    sa.Column("pid", sa.Integer),
    sa.Column("user", sa.String(256)),
    sa.Column("source", sa.String(1024)),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("git_dirty", sa.Boolean),
    sa.Column("seed", sa.BigInteger),
    sa.Column("env_digest", sa.String(64), sa.ForeignKey("environments.digest")),
    # the run's process says it is alive every few seconds; one silent too long is reaped
    sa.Column("heartbeat_at", sa.BigInteger),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_status", "status"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("blob_digest", sa.String(64), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("source", sa.String(2048)),
    sa.Column("parents", sa.JSON, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    sa.UniqueConstraint("dataset_id", "digest", name="uq_dataset_versions_digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "dataset_version_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id"),
        primary_key=True,
    ),
    sa.Column("context", sa.String(64)),
)

# -- registry (0002) -----------------------------------------------------------------------
models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # the highest version number ever handed out: a deleted number is never reused
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("manifest_digest", sa.String(64), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("classes", sa.JSON),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("datasets", sa.JSON, nullable=False),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("description", sa.Text),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("card", sa.JSON, nullable=False),
    sa.Column("reference_profile", sa.JSON),
    sa.Column("allow_pickle", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256)),
    sa.UniqueConstraint("model_id", "version", name="uq_model_versions_version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("require_checks", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(256)),
)

alias_history = sa.Table(
    "alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),
    sa.Column("actor", sa.String(256)),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Index("ix_alias_history_model_alias", "model_id", "alias"),
)

# == 0003: release checks, delivery, monitoring, pipelines, automation, auth ===============
# One migration for the next five capabilities, so each can grow without chaining
# migrations. Free-form specs and state live in JSON columns; what is filtered on is a column.

# -- release checks ------------------------------------------------------------------------
check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),  # blessed | rejected
    sa.Column("baseline_version", sa.Integer),
    sa.Column("data_ref", sa.String(1024)),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("checks", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("report_digest", sa.String(64)),
    sa.Column("html_digest", sa.String(64)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256)),
    sa.Index("ix_check_results_model_version", "model_id", "version"),
)

# -- endpoints, revisions, rollouts ----------------------------------------------------------
endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("current_revision", sa.Integer),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

endpoint_revisions = sa.Table(
    "endpoint_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("variants", sa.JSON, nullable=False),
    sa.Column("strategy", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256)),
    sa.UniqueConstraint("endpoint_id", "revision", name="uq_endpoint_revisions_revision"),
)

rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id"), nullable=False),
    sa.Column("strategy", sa.String(32), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("from_revision", sa.Integer),
    sa.Column("to_revision", sa.Integer),
    sa.Column("failed_checks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("analysis", sa.JSON, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("source", sa.String(256)),  # who started it: "cli", "automation:<name>", ...
    sa.Column("next_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger),
    sa.Column("created_by", sa.String(256)),
    sa.Index("ix_rollouts_endpoint_state", "endpoint_id", "state"),
)

serving_stats = sa.Table(
    "serving_stats",
    metadata,
    sa.Column("endpoint", sa.String(256), primary_key=True),
    sa.Column("variant", sa.String(64), primary_key=True),
    sa.Column("replica", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    # in the key: a variant name (stable) changes model version at a switch, mid-window
    sa.Column("model_version", sa.String(64), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_serving_stats_endpoint_window", "endpoint", "window_start"),
)

# -- monitoring and alerts -----------------------------------------------------------------
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(256), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("interval_s", sa.Integer, nullable=False),
    sa.Column("last_run_at", sa.BigInteger),
    sa.Column("next_run_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("endpoint", "name", name="uq_monitors_endpoint_name"),
)

monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("model_version", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),  # ok | warning | failed | no_data
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("report_digest", sa.String(64)),
    sa.Index("ix_monitor_results_monitor_ts", "monitor_id", "ts"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("rule", sa.String(256), nullable=False),
    sa.Column("endpoint", sa.String(256)),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | firing | resolved
    sa.Column("value", sa.Float),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("first_seen_at", sa.BigInteger, nullable=False),
    sa.Column("fired_at", sa.BigInteger),
    sa.Column("resolved_at", sa.BigInteger),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("notified_state", sa.String(16)),
    sa.Index("ix_alerts_fingerprint_state", "fingerprint", "state"),
    sa.Index("ix_alerts_endpoint_state", "endpoint", "state"),
)

# -- pipelines, job queue, automations ---------------------------------------------------------
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("pipeline", sa.String(256), nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("trigger", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger),
    sa.Index("ix_pipeline_runs_pipeline_created", "pipeline", "created_at"),
)

step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "pipeline_run_id",
        sa.String(32),
        sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("step", sa.String(256), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("reason", sa.JSON),
    sa.Column("cached_from", sa.String(32)),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.BigInteger),
    sa.Column("finished_at", sa.BigInteger),
    sa.Index("ix_step_runs_pipeline_run", "pipeline_run_id"),
    sa.Index("ix_step_runs_step", "step"),
)

step_cache = sa.Table(
    "step_cache",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("step", sa.String(256), nullable=False),
    sa.Column("components", sa.JSON, nullable=False),  # code / params / input digests
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("committed", sa.Boolean, nullable=False),
    sa.Column("pipeline_run_id", sa.String(32)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_step_cache_step", "step"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued|running|done|failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
    sa.Column("run_after", sa.BigInteger, nullable=False),
    sa.Column("dedupe_key", sa.String(256)),
    sa.Column("claimed_by", sa.String(256)),
    sa.Column("claimed_at", sa.BigInteger),
    sa.Column("heartbeat_at", sa.BigInteger),
    sa.Column("lease_expires_at", sa.BigInteger),  # a running job past this is reaped
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.BigInteger),
    sa.Index("ix_jobs_claim", "queue", "status", "run_after"),
    sa.Index("ix_jobs_dedupe", "dedupe_key"),
)

automations = sa.Table(
    "automations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("endpoint", sa.String(256), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("last_triggered_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

automation_events = sa.Table(
    "automation_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("automation_id", sa.Integer, sa.ForeignKey("automations.id"), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("trigger", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("job_id", sa.Integer),
    sa.Column("pipeline_run_id", sa.String(32)),
    sa.Column("model_version", sa.Integer),
    sa.Column("check_result_id", sa.Integer),
    sa.Column("rollout_id", sa.Integer),
    sa.Index("ix_automation_events_automation_ts", "automation_id", "ts"),
)

# -- users, tokens, audit --------------------------------------------------------------------
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # user | service
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256)),
)

role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("project", sa.String(256), primary_key=True),  # "*" = every project
    sa.Column("role", sa.String(32), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(256)),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger),
    sa.Column("revoked_at", sa.BigInteger),
    sa.Column("last_used_at", sa.BigInteger),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.String(1024), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("client", sa.String(256)),
    sa.Column("status", sa.Integer),
    sa.Column("request_id", sa.String(64)),
    sa.Index("ix_audit_events_ts", "ts"),
    sa.Index("ix_audit_events_target", "target"),
)
