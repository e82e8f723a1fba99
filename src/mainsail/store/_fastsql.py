"""Hand-written SQL for the tracking hot path (run start/end, metric batches).

SQLAlchemy Core costs ~100 µs per statement in parameter processing; the handful of
statements every run executes go straight to the driver instead. The SQL is portable
between SQLite and PostgreSQL; only the parameter style differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy.engine import Connection

_STATEMENTS = {
    "insert_run": (
        'INSERT INTO runs (id, experiment_id, name, status, start_time, host, pid, "user", '
        "source, git_commit, git_dirty, seed, env_digest, heartbeat_at) VALUES (:id, "
        ":experiment_id, :name, :status, :start_time, :host, :pid, :user, :source, :git_commit, "
        ":git_dirty, :seed, :env_digest, :heartbeat_at)"
    ),
    "insert_param": "INSERT INTO params (run_id, key, value) VALUES (:run_id, :key, :value)",
    "insert_tag": "INSERT INTO tags (run_id, key, value) VALUES (:run_id, :key, :value)",
    "insert_metric": (
        "INSERT INTO metrics (run_id, key, step, ts, value) VALUES (:run_id, :key, :step, :ts, :value)"
    ),
    "upsert_latest": (
        "INSERT INTO latest_metrics (run_id, key, step, ts, value) "
        "VALUES (:run_id, :key, :step, :ts, :value) "
        "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, ts = excluded.ts, "
        "value = excluded.value WHERE excluded.step > latest_metrics.step OR "
        "(excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts)"
    ),
    "end_run": (
        "UPDATE runs SET status = :status, end_time = :end_time "
        "WHERE id = :id AND status = 'running'"
    ),
    "run_status": "SELECT status FROM runs WHERE id = :id",
}

_NAMED = re.compile(r":(\w+)")


@cache
def _sql(name: str, dialect: str) -> str:
    text = _STATEMENTS[name]
    if dialect == "postgresql":
        return _NAMED.sub(r"%(\1)s", text)
    return text


def execute(conn: Connection, name: str, params: dict[str, Any] | Sequence[dict[str, Any]]) -> Any:
    """Run one of the statements above; a list of params runs it as executemany."""
    return conn.exec_driver_sql(_sql(name, conn.dialect.name), params)  # type: ignore[arg-type]
