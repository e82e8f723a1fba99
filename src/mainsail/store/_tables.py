"""Metadata tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

The code reads and writes through these definitions; every schema change adds a
migration and bumps ``SCHEMA_REVISION``. A test checks the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_REVISION = "0002"

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
