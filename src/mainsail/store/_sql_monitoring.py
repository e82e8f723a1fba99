"""Monitoring persistence: monitors, their results and alerts (``monitors``,
``monitor_results``, ``alerts``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import InvalidValueError, NotFoundError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store._upsert import upsert
from mainsail.store.protocols.monitoring import check_alert_state as _check_state

if TYPE_CHECKING:
    from mainsail.store._db import Database

_OPEN = ("pending", "firing")
_ALERT_FIELDS = frozenset(
    {
        "rule",
        "endpoint",
        "severity",
        "state",
        "value",
        "evidence",
        "count",
        "first_seen_at",
        "fired_at",
        "resolved_at",
        "updated_at",
        "notified_state",
    }
)


def _check_alert_fields(values: Mapping[str, Any], what: str) -> None:
    unknown = sorted(set(values) - _ALERT_FIELDS - {"fingerprint"})
    if unknown:
        raise InvalidValueError(
            f"Unknown alert fields {unknown} in {what}. Valid fields are: "
            f"{', '.join(sorted(_ALERT_FIELDS))}."
        )


class MonitorStoreMixin:
    """SQL methods for monitors, monitor results and alerts; mixed into SqlStore."""

    db: Database

    # -- monitors ----------------------------------------------------------------------------
    def put_monitor(
        self, endpoint: str, name: str, spec: Mapping[str, Any], interval_s: int, enabled: bool
    ) -> dict[str, Any]:
        now = now_ms()
        row = {
            "endpoint": endpoint,
            "name": name,
            "spec": dict(spec),
            "enabled": bool(enabled),
            "interval_s": int(interval_s),
            "created_at": now,
            "updated_at": now,
            "next_run_at": now,
        }
        with self.db.write() as conn:
            # One statement: two clients declaring the same monitor never collide.
            upsert(
                conn,
                t.monitors,
                [row],
                keys=["endpoint", "name"],
                update=["spec", "enabled", "interval_s", "updated_at"],
            )
            return self._monitor_row(conn, endpoint, name)

    def _monitor_row(self, conn: Connection, endpoint: str, name: str) -> dict[str, Any]:
        m = t.monitors.c
        row = conn.execute(
            sa.select(t.monitors).where(m.endpoint == endpoint, m.name == name)
        ).first()
        if row is None:
            known = conn.execute(sa.select(m.endpoint, m.name).order_by(m.endpoint, m.name)).all()
            raise NotFoundError(
                f"No monitor {name!r} on endpoint {endpoint!r}. Known monitors: "
                f"{', '.join(f'{e}/{n}' for e, n in known) or 'none'}. Create one with "
                f"mainsail.create_monitor({endpoint!r}) or: mainsail monitor create ENDPOINT"
            )
        return dict(row._mapping)

    def get_monitor_row(self, endpoint: str, name: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return self._monitor_row(conn, endpoint, name)

    def list_monitor_rows(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        m = t.monitors.c
        q = sa.select(t.monitors).order_by(m.endpoint, m.name)
        if endpoint is not None:
            q = q.where(m.endpoint == endpoint)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def delete_monitor(self, endpoint: str, name: str) -> None:
        with self.db.write() as conn:
            mid = self._monitor_row(conn, endpoint, name)["id"]
            conn.execute(sa.delete(t.monitor_results).where(t.monitor_results.c.monitor_id == mid))
            conn.execute(sa.delete(t.monitors).where(t.monitors.c.id == mid))

    def due_monitor_rows(self, now_ms: int) -> list[dict[str, Any]]:
        m = t.monitors.c
        q = (
            sa.select(t.monitors)
            .where(m.enabled.is_(True), sa.or_(m.next_run_at.is_(None), m.next_run_at <= now_ms))
            .order_by(m.next_run_at, m.id)
        )
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def schedule_monitor(self, monitor_id: int, next_run_at: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                sa.update(t.monitors)
                .where(t.monitors.c.id == monitor_id)
                .values(next_run_at=int(next_run_at))
            )

    # -- results -----------------------------------------------------------------------------
    def add_monitor_result(
        self, monitor_id: int, result: Mapping[str, Any], next_run_at: int
    ) -> int:
        keys = ("ts", "window_start", "window_end", "model_version", "status", "scores", "result")
        missing = [k for k in keys if k not in result]
        if missing:
            raise InvalidValueError(
                f"A monitor result needs {', '.join(keys)}. Missing: {', '.join(missing)}."
            )
        values = {k: result[k] for k in keys}
        with self.db.write() as conn:
            res = conn.execute(sa.insert(t.monitor_results).values(monitor_id=monitor_id, **values))
            conn.execute(
                sa.update(t.monitors)
                .where(t.monitors.c.id == monitor_id)
                .values(last_run_at=int(values["ts"]), next_run_at=int(next_run_at))
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def list_monitor_results(
        self, endpoint: str, name: str, limit: int = 100, since_ms: int | None = None
    ) -> list[dict[str, Any]]:
        r = t.monitor_results.c
        with self.db.read() as conn:
            mid = self._monitor_row(conn, endpoint, name)["id"]
            q = (
                sa.select(r.id, r.result)
                .where(r.monitor_id == mid)
                .order_by(r.ts.desc(), r.id.desc())
                .limit(int(limit))
            )
            if since_ms is not None:
                q = q.where(r.ts >= since_ms)
            rows = list(conn.execute(q))
        return [{**doc, "id": rid} for rid, doc in reversed(rows)]

    def monitor_score_series(
        self, endpoint: str, name: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        r = t.monitor_results.c
        with self.db.read() as conn:
            mid = self._monitor_row(conn, endpoint, name)["id"]
            q = (
                sa.select(r.ts, r.status, r.model_version, r.scores)
                .where(r.monitor_id == mid)
                .order_by(r.ts.desc(), r.id.desc())
                .limit(int(limit))
            )
            rows = list(conn.execute(q))
        return [
            {"ts": ts, "status": st, "model_version": mv, "scores": sc or {}}
            for ts, st, mv, sc in reversed(rows)
        ]

    def latest_monitor_results(self) -> list[dict[str, Any]]:
        r, m = t.monitor_results.c, t.monitors.c
        newest = (
            sa.select(r.monitor_id, sa.func.max(r.id).label("rid")).group_by(r.monitor_id)
        ).subquery()
        q = (
            sa.select(m.endpoint, m.name, r.ts, r.result)
            .select_from(
                t.monitor_results.join(newest, r.id == newest.c.rid).join(
                    t.monitors, m.id == r.monitor_id
                )
            )
            .order_by(m.endpoint, m.name)
        )
        with self.db.read() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def endpoint_result_scores(
        self, endpoint: str, after_ts: int = 0, limit: int = 20
    ) -> list[dict[str, Any]]:
        r, m = t.monitor_results.c, t.monitors.c
        q = (
            sa.select(r.id, r.ts, r.scores)
            .join(t.monitors, m.id == r.monitor_id)
            .where(m.endpoint == endpoint, r.ts > after_ts)
            .order_by(r.ts.desc(), r.id.desc())
            .limit(int(limit))
        )
        with self.db.read() as conn:
            return [
                {"id": rid, "ts": ts, "scores": scores or {}} for rid, ts, scores in conn.execute(q)
            ]

    # -- alerts ------------------------------------------------------------------------------
    def list_alert_rows(
        self,
        endpoint: str | None = None,
        state: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        _check_state(state)
        a = t.alerts.c
        q = sa.select(t.alerts).order_by(a.id.desc()).limit(int(limit))
        if endpoint is not None:
            q = q.where(a.endpoint == endpoint)
        if state is not None:
            q = q.where(a.state == state)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def _alert_row(self, conn: Connection, alert_id: int) -> dict[str, Any] | None:
        row = conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).first()
        return dict(row._mapping) if row is not None else None

    def get_alert_row(self, alert_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self._alert_row(conn, int(alert_id))
        if row is None:
            raise NotFoundError(
                f"No alert with id {alert_id}. List them with: mainsail alerts list"
            )
        return row

    def open_alert_row(self, fingerprint: str) -> dict[str, Any] | None:
        a = t.alerts.c
        q = (
            sa.select(t.alerts)
            .where(a.fingerprint == fingerprint, a.state.in_(_OPEN))
            .order_by(a.id.desc())
            .limit(1)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return dict(row._mapping) if row is not None else None

    def insert_alert(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        _check_alert_fields(values, "insert_alert")
        needed = ("fingerprint", "rule", "severity", "state", "first_seen_at", "updated_at")
        missing = [k for k in needed if values.get(k) is None]
        if missing:
            raise InvalidValueError(
                f"A new alert needs {', '.join(needed)}. Missing: {', '.join(missing)}."
            )
        _check_state(values["state"])
        a = t.alerts.c
        with self.db.write() as conn:
            if not self.db.is_sqlite:  # READ COMMITTED: serialise openers of one fingerprint
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"alert:{values['fingerprint']}"},
                )
            taken = conn.execute(
                sa.select(a.id).where(a.fingerprint == values["fingerprint"], a.state.in_(_OPEN))
            ).first()
            if taken is not None:
                return None
            doc = {"evidence": {}, "count": 1, **values}
            res = conn.execute(sa.insert(t.alerts).values(**doc))
            return self._alert_row(conn, int(res.inserted_primary_key[0]))  # type: ignore[index]

    def update_alert(
        self, alert_id: int, expect: Mapping[str, Any] | None = None, **values: Any
    ) -> dict[str, Any] | None:
        _check_alert_fields(values, "update_alert")
        _check_alert_fields(expect or {}, "update_alert(expect=...)")
        if expect and "evidence" in expect:
            raise InvalidValueError(
                "update_alert cannot compare 'evidence' (a JSON document); expect on state, "
                "count, updated_at or notified_state instead."
            )
        if "state" in values:
            _check_state(values["state"])
        if not values:
            raise InvalidValueError(
                "update_alert needs at least one field to change. Valid fields are: "
                f"{', '.join(sorted(_ALERT_FIELDS))}."
            )
        a = t.alerts.c
        q = sa.update(t.alerts).where(a.id == int(alert_id))
        for col, value in (expect or {}).items():
            q = q.where(a[col].is_(None) if value is None else a[col] == value)
        with self.db.write() as conn:
            if not conn.execute(q.values(**values)).rowcount:
                return None
            return self._alert_row(conn, int(alert_id))

    def firing_alert_counts(self) -> list[dict[str, Any]]:
        a = t.alerts.c
        q = (
            sa.select(a.endpoint, a.severity, sa.func.count().label("count"))
            .where(a.state == "firing")
            .group_by(a.endpoint, a.severity)
            .order_by(a.endpoint, a.severity)
        )
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
