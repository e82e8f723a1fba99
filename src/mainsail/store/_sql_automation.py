"""Automation persistence: automations (spec + state) and their event trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import AutomationNotFoundError, InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store.protocols.automation import RequestKind

if TYPE_CHECKING:
    from mainsail.store._db import Database


class AutomationStoreMixin:
    """SQL methods for ``automations`` and ``automation_events``; mixed into SqlStore."""

    db: Database

    def put_automation(self, name: str, endpoint: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an automation's spec; its state (cooldowns, in-flight) is kept."""
        now = now_ms()
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(t.automations.c.id).where(t.automations.c.name == name)
            ).first()
            if row is None:
                conn.execute(
                    t.automations.insert().values(
                        name=name,
                        endpoint=endpoint,
                        spec=dict(spec),
                        enabled=True,
                        state={},
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    t.automations.update()
                    .where(t.automations.c.id == row.id)
                    .values(endpoint=endpoint, spec=dict(spec), updated_at=now)
                )
            return self._automation_row(conn, name)

    def _automation_row(self, conn: Connection, name: str) -> dict[str, Any]:
        row = conn.execute(sa.select(t.automations).where(t.automations.c.name == name)).first()
        if row is None:
            known = conn.execute(sa.select(t.automations.c.name)).scalars().all()
            raise AutomationNotFoundError(
                f"No automation named {name!r}. Known automations: "
                + (", ".join(sorted(known)) or "none yet")
                + ". Create one with 'mainsail automation create -f automation.yaml'."
            )
        return dict(row._mapping)

    def get_automation_row(self, name: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return self._automation_row(conn, name)

    def list_automation_rows(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        q = sa.select(t.automations).order_by(t.automations.c.name)
        if enabled_only:
            q = q.where(t.automations.c.enabled.is_(True))
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def update_automation(self, automation_id: int, **values: Any) -> None:
        values["updated_at"] = now_ms()
        with self.db.write() as conn:
            conn.execute(
                t.automations.update().where(t.automations.c.id == automation_id).values(**values)
            )

    def set_automation_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        with self.db.write() as conn:
            row = self._automation_row(conn, name)
            conn.execute(
                t.automations.update()
                .where(t.automations.c.id == row["id"])
                .values(enabled=bool(enabled), updated_at=now_ms())
            )
            return self._automation_row(conn, name)

    def automation_trail_rows(self, name: str, limit: int = 200) -> list[dict[str, Any]]:
        automation_id = self.get_automation_row(name)["id"]
        return self.automation_events(automation_id, limit=limit)

    def request_automation(
        self,
        name: str,
        kind: RequestKind,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        if kind == "manual":
            detail: dict[str, Any] = {"reason": reason or "manual run", "actor": actor}
        elif kind == "approval":
            detail = {"actor": actor}
        else:
            raise InvalidValueError(
                f"Unknown automation request {kind!r}. Valid requests are: approval, manual."
            )
        ev = t.automation_events
        with self.db.write() as conn:
            automation_id = self._automation_row(conn, name)["id"]
            event_id = conn.execute(
                ev.insert().values(
                    automation_id=automation_id,
                    ts=now_ms(),
                    trigger=kind,
                    status="requested",
                    detail=detail,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            row = conn.execute(sa.select(ev).where(ev.c.id == event_id)).one()
        return dict(row._mapping)

    def add_automation_event(
        self,
        automation_id: int,
        trigger: str,
        status: str,
        detail: dict[str, Any] | None = None,
        ts: int | None = None,
        **links: Any,
    ) -> int:
        """Append one step of the audit trail (trigger → job → pipeline run → version → ...)."""
        with self.db.write() as conn:
            return int(
                conn.execute(
                    t.automation_events.insert().values(
                        automation_id=automation_id,
                        ts=ts if ts is not None else now_ms(),
                        trigger=trigger,
                        status=status,
                        detail=detail or {},
                        **links,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def automation_events(
        self, automation_id: int, limit: int = 200, after_id: int = 0, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Events oldest first: the last ``limit`` of them, or those after ``after_id``."""
        q = (
            sa.select(t.automation_events)
            .where(t.automation_events.c.automation_id == automation_id)
            .where(t.automation_events.c.id > after_id)
            .order_by(t.automation_events.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            q = q.where(t.automation_events.c.status == status)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)][::-1]
