"""The one alert the rollout controller raises: ``rollout_rolled_back`` for an endpoint.

The monitoring package owns alert rules and notification; this module only inserts (or
updates) the row in ``alerts``, keyed by the fingerprint ``rollout:<endpoint>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainsail.core._ids import now_ms
from mainsail.store import _tables as t

if TYPE_CHECKING:
    from mainsail.store._context import Context

RULE = "rollout_rolled_back"


def fingerprint(endpoint: str) -> str:
    return f"rollout:{endpoint}"


def raise_rollout_alert(
    ctx: Context, endpoint: str, evidence: dict[str, Any], value: float | None = None
) -> int:
    """Fire (or re-fire) the endpoint's rollback alert; returns the alert id."""
    now = now_ms()
    fp = fingerprint(endpoint)
    a = t.alerts
    with ctx.database().db.write() as conn:
        row = conn.execute(
            sa.select(a.c.id, a.c["count"]).where(a.c.fingerprint == fp, a.c.state == "firing")
        ).first()
        if row is not None:
            conn.execute(
                sa.update(a)
                .where(a.c.id == row.id)
                .values(count=int(row[1]) + 1, evidence=evidence, value=value, updated_at=now)
            )
            return int(row.id)
        return int(
            conn.execute(
                sa.insert(a)
                .values(
                    fingerprint=fp,
                    rule=RULE,
                    endpoint=endpoint,
                    severity="critical",
                    state="firing",
                    value=value,
                    evidence=evidence,
                    count=1,
                    first_seen_at=now,
                    fired_at=now,
                    updated_at=now,
                )
                .returning(a.c.id)
            ).scalar_one()
        )


def resolve_rollout_alert(ctx: Context, endpoint: str) -> None:
    """Resolve a firing rollback alert (a later rollout of the endpoint was promoted)."""
    now = now_ms()
    a = t.alerts
    with ctx.database().db.write() as conn:
        conn.execute(
            sa.update(a)
            .where(a.c.fingerprint == fingerprint(endpoint), a.c.state == "firing")
            .values(state="resolved", resolved_at=now, updated_at=now)
        )
