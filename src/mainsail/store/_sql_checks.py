"""Release-check persistence: CheckResult rows, and the ``require_checks`` alias gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import InvalidValueError, ModelStateError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store._sql_registry import _ALIAS_GUARDS, _DELETE_GUARDS

if TYPE_CHECKING:
    from mainsail.store._db import Database

CHECK_RESULT_FIELDS = (
    "verdict",
    "baseline_version",
    "data_ref",
    "policy",
    "checks",
    "summary",
    "report_digest",
    "html_digest",
    "created_by",
)


def _model_id(conn: Connection, name: str) -> int | None:
    mid = conn.execute(sa.select(t.models.c.id).where(t.models.c.name == name)).scalar()
    return None if mid is None else int(mid)


def _row(name: str, r: Any) -> dict[str, Any]:
    m = dict(r._mapping)
    m.pop("model_id", None)
    return {"model": name, **m}


class CheckStoreMixin:
    """SQL methods of release checks; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    def create_check_result(self, name: str, version: int, **fields: Any) -> dict[str, Any]:
        """Record a CheckResult on ``name`` version ``version``; returns the stored row."""
        bad = sorted(set(fields) - set(CHECK_RESULT_FIELDS))
        if bad:
            raise InvalidValueError(
                f"A check result has no field(s) {', '.join(bad)}. Valid fields are: "
                f"{', '.join(CHECK_RESULT_FIELDS)}."
            )
        with self.db.write() as conn:
            mid = self._model_id(conn, name)  # type: ignore[attr-defined]
            self._version_row(conn, name, mid, version)  # type: ignore[attr-defined]
            res = conn.execute(
                t.check_results.insert().returning(t.check_results.c.id),
                {"model_id": mid, "version": version, "created_at": now_ms(), **fields},
            )
            rid = int(res.scalar_one())
            row = conn.execute(sa.select(t.check_results).where(t.check_results.c.id == rid)).one()
            return _row(name, row)

    def list_check_results(
        self, name: str, version: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Check results of a model (or one version), newest first."""
        with self.db.read() as conn:
            mid = self._model_id(conn, name)  # type: ignore[attr-defined]
            q = sa.select(t.check_results).where(t.check_results.c.model_id == mid)
            if version is not None:
                self._version_row(conn, name, mid, version)  # type: ignore[attr-defined]
                q = q.where(t.check_results.c.version == version)
            q = q.order_by(t.check_results.c.id.desc())
            if limit is not None:
                q = q.limit(limit)
            return [_row(name, r) for r in conn.execute(q)]

    def get_check_result(self, result_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            r = conn.execute(
                sa.select(t.check_results, t.models.c.name)
                .join(t.models, t.models.c.id == t.check_results.c.model_id)
                .where(t.check_results.c.id == result_id)
            ).first()
            if r is None:
                return None
            m = dict(r._mapping)
            name = m.pop("name")
            m.pop("model_id", None)
            return {"model": name, **m}

    def alias_gate(self, name: str, alias: str) -> bool | None:
        """Whether ``alias`` of ``name`` requires checks (``None``: no such alias yet)."""
        with self.db.read() as conn:
            mid = _model_id(conn, name)
            if mid is None:
                return None
            row = conn.execute(
                sa.select(t.model_aliases.c.require_checks).where(
                    t.model_aliases.c.model_id == mid, t.model_aliases.c.alias == alias
                )
            ).first()
            return None if row is None else bool(row.require_checks)


CLIENT = "client"
"""``summary["computed_by"]`` of a result a client computed and recorded (``checks/record``)."""


def computed_by_client(summary: Any) -> bool:
    """Whether a stored result was computed by a client rather than by Mainsail itself."""
    return isinstance(summary, dict) and summary.get("computed_by") == CLIENT


def _latest_verdict(conn: Connection, mid: int, version: int) -> tuple[str | None, int]:
    """The newest verdict the gate counts, and how many newer client results it skipped.

    A result a client recorded is stored and listed, but a developer could send any
    outcomes and policy, so the gate counts only results Mainsail computed: on the server
    (``POST .../checks``) or in-process in embedded mode.
    """
    rows = conn.execute(
        sa.select(t.check_results.c.verdict, t.check_results.c.summary)
        .where(t.check_results.c.model_id == mid, t.check_results.c.version == version)
        .order_by(t.check_results.c.id.desc())
    )
    skipped = 0
    for verdict, summary in rows:
        if computed_by_client(summary):
            skipped += 1
            continue
        return str(verdict), skipped
    return None, skipped


def require_blessing(conn: Connection, name: str, alias: str, version: int, required: bool) -> None:
    """Alias guard: a gated alias moves only to a version whose newest CheckResult blesses it.

    Only results Mainsail computed count; results a client recorded (``computed_by:
    client``) are ignored here.
    """
    if not required:
        return
    mid = _model_id(conn, name)
    if mid is None:
        return
    current = conn.execute(
        sa.select(t.model_aliases.c.version, t.model_aliases.c.require_checks).where(
            t.model_aliases.c.model_id == mid, t.model_aliases.c.alias == alias
        )
    ).first()
    turning_on = current is None or not current.require_checks
    if current is not None and not turning_on and current.version == version:
        return  # the gate stays on and the alias stays where it is
    # Moving a gated alias checks the version it moves to; turning the gate on checks the
    # version the alias points at from now on (a gate over an unblessed version is no gate).
    # Lifting it (require_checks=False) is an explicit decision the server reserves to admins.
    verdict, skipped = _latest_verdict(conn, mid, version)
    if verdict == "blessed":
        return
    by = " that Mainsail computed" if skipped else ""
    if verdict is None:
        found = f"it has no CheckResult{by}"
    else:
        found = f"its latest CheckResult{by} is 'rejected'"
    if skipped:
        found += (
            f"; the gate ignores its {skipped} result(s) recorded by a client (computed_by: "
            "client), since a client can record any outcomes"
        )
    what = (
        f"Turning on the require_checks gate of alias {alias!r} of {name!r} needs the version "
        f"it points at to have a blessed CheckResult, and version {version} does not have one"
        if turning_on
        else f"Alias {alias!r} of {name!r} requires a blessed CheckResult, and version "
        f"{version} does not have one"
    )
    raise ModelStateError(
        f"{what}: {found}. Run `mainsail check models:/{name}/{version} --data <dataset> "
        f"--policy <checks.yaml>` (or mainsail.check(...)) until it is blessed, then move the "
        f"alias; against a server, check on a registered dataset (datasets:/NAME/N) with "
        f"built-in checks only, so the server runs them. Or set the alias with "
        f"require_checks=False to lift the gate."
    )


def forget_checks(conn: Connection, name: str, version: int) -> None:
    """Delete hook: a deleted version's blessings go too, so a reused number is not blessed."""
    mid = _model_id(conn, name)
    if mid is not None:
        conn.execute(
            t.check_results.delete().where(
                t.check_results.c.model_id == mid, t.check_results.c.version == version
            )
        )


if require_blessing not in _ALIAS_GUARDS:
    _ALIAS_GUARDS.append(require_blessing)
if forget_checks not in _DELETE_GUARDS:
    _DELETE_GUARDS.append(forget_checks)
