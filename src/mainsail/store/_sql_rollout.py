"""Delivery persistence: endpoints, their revisions, rollouts and per-replica serving stats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import EndpointNotFoundError, InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store._upsert import upsert
from mainsail.store.protocols.rollout import RevisionDraft

if TYPE_CHECKING:
    from mainsail.store._db import Database

_ROLLOUT_FIELDS = (
    "state",
    "step",
    "failed_checks",
    "analysis",
    "message",
    "next_at",
    "finished_at",
    "from_revision",
    "to_revision",
    "spec",
)
ROLLOUT_STATES = ("pending", "progressing", "paused", "promoted", "rolled_back", "aborted")
ACTIVE_ROLLOUT_STATES = ("pending", "progressing", "paused")


class RolloutStoreMixin:
    """SQL methods of progressive delivery; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    # -- endpoints and revisions -------------------------------------------------------------
    def _endpoint_id(self, conn: Connection, name: str) -> int:
        eid = conn.execute(sa.select(t.endpoints.c.id).where(t.endpoints.c.name == name)).scalar()
        if eid is None:
            known = conn.execute(sa.select(t.endpoints.c.name).order_by("name")).scalars().all()
            raise EndpointNotFoundError(
                f"No endpoint named {name!r}. Endpoints: {', '.join(known) or 'none yet'}. "
                "Create one with mainsail deploy NAME models:/model/version."
            )
        return int(eid)

    def add_endpoint_revision(
        self,
        name: str,
        variants: Sequence[dict[str, Any]],
        strategy: dict[str, Any],
        reason: str | None = None,
        actor: str | None = None,
        create: bool = False,
    ) -> int:
        """Append a revision and make it current (creating the endpoint if ``create``)."""
        with self.db.write() as conn:
            return self._add_revision(
                conn, name, RevisionDraft(variants, strategy, reason, actor), create
            )

    def _add_revision(
        self, conn: Connection, name: str, draft: RevisionDraft, create: bool = False
    ) -> int:
        now = now_ms()
        eid = conn.execute(sa.select(t.endpoints.c.id).where(t.endpoints.c.name == name)).scalar()
        if eid is None:
            if not create:
                self._endpoint_id(conn, name)  # raises with the list of endpoints
            eid = conn.execute(
                sa.insert(t.endpoints)
                .values(name=name, current_revision=None, created_at=now, updated_at=now)
                .returning(t.endpoints.c.id)
            ).scalar_one()
        last = conn.execute(
            sa.select(sa.func.max(t.endpoint_revisions.c.revision)).where(
                t.endpoint_revisions.c.endpoint_id == eid
            )
        ).scalar()
        rev = int(last or 0) + 1
        conn.execute(
            sa.insert(t.endpoint_revisions).values(
                endpoint_id=eid,
                revision=rev,
                variants=list(draft.variants),
                strategy=draft.strategy,
                reason=draft.reason,
                created_at=now,
                created_by=draft.actor,
            )
        )
        conn.execute(
            sa.update(t.endpoints)
            .where(t.endpoints.c.id == eid)
            .values(current_revision=rev, updated_at=now)
        )
        return rev

    def get_endpoint_record(self, name: str, history: bool = True) -> dict[str, Any]:
        with self.db.read() as conn:
            eid = self._endpoint_id(conn, name)
            ep = conn.execute(sa.select(t.endpoints).where(t.endpoints.c.id == eid)).one()
            q = sa.select(t.endpoint_revisions).where(t.endpoint_revisions.c.endpoint_id == eid)
            if not history:
                q = q.where(t.endpoint_revisions.c.revision == ep.current_revision)
            revs = conn.execute(q.order_by(t.endpoint_revisions.c.revision)).all()
        return {
            "name": ep.name,
            "revision": ep.current_revision,
            "created_at": ep.created_at,
            "updated_at": ep.updated_at,
            "history": [_rev(r) for r in revs],
        }

    def get_revision(self, name: str, revision: int | None = None) -> dict[str, Any] | None:
        """One revision (default: the current one); ``None`` for an unknown endpoint.

        The data plane polls this: one indexed join, no history.
        """
        e, r = t.endpoints, t.endpoint_revisions
        q = sa.select(r).join(e, e.c.id == r.c.endpoint_id).where(e.c.name == name)
        q = q.where(r.c.revision == (revision if revision is not None else e.c.current_revision))
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return _rev(row) if row is not None else None

    def list_endpoint_records(self) -> list[dict[str, Any]]:
        e, r = t.endpoints, t.endpoint_revisions
        q = (
            sa.select(e.c.name, e.c.current_revision, e.c.updated_at, r.c.variants, r.c.strategy)
            .join(r, (r.c.endpoint_id == e.c.id) & (r.c.revision == e.c.current_revision))
            .order_by(e.c.name)
        )
        with self.db.read() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    # -- rollouts ----------------------------------------------------------------------------
    def create_rollout(
        self,
        endpoint: str,
        strategy: str,
        spec: dict[str, Any],
        state: str,
        source: str | None,
        actor: str | None,
        from_revision: int | None,
        to_revision: int | None = None,
        next_at: int | None = None,
        message: str | None = None,
        *,
        revision: RevisionDraft | None = None,
        create_endpoint: bool = False,
    ) -> int:
        """Record a rollout (after appending ``revision``, its ``to_revision``, if given)."""
        if state not in ROLLOUT_STATES:
            raise InvalidValueError(
                f"Unknown rollout state {state!r}. Valid states are: {', '.join(ROLLOUT_STATES)}."
            )
        with self.db.write() as conn:
            if revision is not None:
                to_revision = self._add_revision(conn, endpoint, revision, create_endpoint)
            now = now_ms()
            eid = self._endpoint_id(conn, endpoint)
            done = state not in ACTIVE_ROLLOUT_STATES
            return int(
                conn.execute(
                    sa.insert(t.rollouts)
                    .values(
                        endpoint_id=eid,
                        strategy=strategy,
                        spec=spec,
                        state=state,
                        step=0,
                        from_revision=from_revision,
                        to_revision=to_revision,
                        failed_checks=0,
                        analysis=[],
                        message=message,
                        source=source,
                        next_at=next_at,
                        created_at=now,
                        updated_at=now,
                        finished_at=now if done else None,
                        created_by=actor,
                    )
                    .returning(t.rollouts.c.id)
                ).scalar_one()
            )

    def update_rollout(
        self,
        rollout_id: int,
        expect: dict[str, Any] | None = None,
        revision: RevisionDraft | None = None,
        **fields: Any,
    ) -> bool:
        """Update a rollout; with ``expect`` only if those columns still hold those values,
        with ``revision`` appended to its endpoint (and made its ``to_revision``) in the same
        transaction.

        Returns ``False``, having written nothing, when ``expect`` no longer matched.
        """
        unknown = set(fields) - set(_ROLLOUT_FIELDS)
        if revision is not None and "to_revision" in fields:
            unknown.add("to_revision (the revision given sets it)")
        if unknown:
            raise InvalidValueError(
                f"Cannot update rollout fields {sorted(unknown)}. "
                f"Valid fields are: {', '.join(_ROLLOUT_FIELDS)}."
            )
        bad = set(expect or {}) - set(_ROLLOUT_FIELDS) - {"updated_at"}
        if bad:
            raise InvalidValueError(
                f"Cannot compare rollout fields {sorted(bad)}. "
                f"Valid fields are: {', '.join(_ROLLOUT_FIELDS)}, updated_at."
            )
        try:
            with self.db.write() as conn:
                if revision is not None:
                    endpoint = conn.execute(
                        sa.select(t.endpoints.c.name)
                        .join(t.rollouts, t.rollouts.c.endpoint_id == t.endpoints.c.id)
                        .where(t.rollouts.c.id == rollout_id)
                    ).scalar()
                    if endpoint is None:
                        return False
                    fields["to_revision"] = self._add_revision(conn, endpoint, revision)
                q = sa.update(t.rollouts).where(t.rollouts.c.id == rollout_id)
                for col, value in (expect or {}).items():
                    q = q.where(t.rollouts.c[col] == value)
                if not conn.execute(q.values(updated_at=now_ms(), **fields)).rowcount:
                    raise _Moved  # undoes the revision too
        except _Moved:
            return False
        return True

    def _rollout_query(self) -> Any:
        return sa.select(t.rollouts, t.endpoints.c.name.label("endpoint")).join(
            t.endpoints, t.endpoints.c.id == t.rollouts.c.endpoint_id
        )

    def get_rollout_record(
        self, endpoint: str, rollout_id: int | None = None
    ) -> dict[str, Any] | None:
        """The endpoint's latest rollout (or ``rollout_id`` of it); ``None`` if none."""
        with self.db.read() as conn:
            eid = self._endpoint_id(conn, endpoint)
            q = self._rollout_query().where(t.rollouts.c.endpoint_id == eid)
            if rollout_id is not None:
                q = q.where(t.rollouts.c.id == rollout_id)
            row = conn.execute(q.order_by(t.rollouts.c.id.desc()).limit(1)).first()
        return dict(row._mapping) if row is not None else None

    def list_rollout_records(
        self, endpoint: str | None = None, states: Sequence[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        q = self._rollout_query()
        if endpoint is not None:
            q = q.where(t.endpoints.c.name == endpoint)
        if states is not None:
            q = q.where(t.rollouts.c.state.in_(list(states)))
        with self.db.read() as conn:
            rows = conn.execute(q.order_by(t.rollouts.c.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    # -- serving stats -----------------------------------------------------------------------
    def write_serving_stats(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert one row per (endpoint, variant, replica, window_start, model_version)."""
        if not rows:
            return
        with self.db.write() as conn:
            upsert(
                conn,
                t.serving_stats,
                list(rows),
                keys=["endpoint", "variant", "replica", "window_start", "model_version"],
                update=["data", "updated_at"],
            )

    def read_serving_stats(
        self, endpoint: str, since_ms: int = 0, until_ms: int | None = None
    ) -> list[dict[str, Any]]:
        s = t.serving_stats
        q = sa.select(s).where(s.c.endpoint == endpoint, s.c.window_start >= since_ms)
        if until_ms is not None:
            q = q.where(s.c.window_start < until_ms)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(s.c.window_start))]

    def delete_serving_stats(self, before_ms: int) -> int:
        with self.db.write() as conn:
            res = conn.execute(
                sa.delete(t.serving_stats).where(t.serving_stats.c.window_start < before_ms)
            )
            return int(res.rowcount or 0)


class _Moved(Exception):
    """The rollout changed between read and write: undo the transaction."""


def _rev(row: Any) -> dict[str, Any]:
    return {
        "revision": row.revision,
        "variants": row.variants,
        "strategy": row.strategy,
        "reason": row.reason,
        "created_at": row.created_at,
        "created_by": row.created_by,
    }
