"""Registry persistence: models, immutable versions, aliases with history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import ModelNotFoundError, ModelStateError
from mainsail.core._ids import now_ms
from mainsail.core._registry_schemas import Alias, AliasChange, ModelVersion, RegisteredModel
from mainsail.store import _tables as t
from mainsail.store._upsert import insert_ignore, upsert

if TYPE_CHECKING:
    from mainsail.store._db import Database

_RESERVED_ALIASES = ("latest",)


class RegistryStoreMixin:
    """SQL methods of the model registry; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    # -- helpers ---------------------------------------------------------------------------
    def _model_id(self, conn: Connection, name: str) -> int:
        mid = conn.execute(sa.select(t.models.c.id).where(t.models.c.name == name)).scalar()
        if mid is None:
            known = (
                conn.execute(sa.select(t.models.c.name).order_by(t.models.c.name)).scalars().all()
            )
            raise ModelNotFoundError(
                f"No model named {name!r}. Registered models: "
                + (", ".join(known) or "none yet")
                + ". Register one with mainsail.register_model(model, name=...)."
            )
        return int(mid)

    def _versions_of(self, conn: Connection, model_id: int) -> list[int]:
        return list(
            conn.execute(
                sa.select(t.model_versions.c.version)
                .where(t.model_versions.c.model_id == model_id)
                .order_by(t.model_versions.c.version)
            ).scalars()
        )

    def _aliases_of(self, conn: Connection, model_id: int) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for r in conn.execute(
            sa.select(t.model_aliases.c.alias, t.model_aliases.c.version).where(
                t.model_aliases.c.model_id == model_id
            )
        ):
            out.setdefault(r.version, []).append(r.alias)
        return out

    def _version_row(self, conn: Connection, name: str, model_id: int, version: int) -> Any:
        row = conn.execute(
            sa.select(t.model_versions).where(
                t.model_versions.c.model_id == model_id, t.model_versions.c.version == version
            )
        ).first()
        if row is None:
            versions = self._versions_of(conn, model_id)
            raise ModelNotFoundError(
                f"Model {name!r} has no version {version}. Its versions are: "
                + (", ".join(map(str, versions)) or "none")
                + "."
            )
        return row

    def _to_version(self, conn: Connection, name: str, row: Any) -> ModelVersion:
        m = dict(row._mapping)
        model_id = m.pop("model_id")
        aliases = self._aliases_of(conn, model_id).get(m["version"], [])
        return ModelVersion(name=name, aliases=sorted(aliases), **m)

    # -- versions --------------------------------------------------------------------------
    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        """Insert the next version of ``name`` (creating the model); safe under concurrency."""
        for attempt in range(8):
            try:
                with self.db.write() as conn:
                    insert_ignore(
                        conn,
                        t.models,
                        [{"name": name, "created_at": now_ms(), "description": None}],
                        ["name"],
                    )
                    mid = self._model_id(conn, name)
                    # numbers are never reused: past the highest ever handed out (deleted
                    # versions included), so models:/churn/3 always means one model
                    highest = conn.execute(
                        sa.select(
                            t.models.c.last_version,
                            sa.select(sa.func.max(t.model_versions.c.version))
                            .where(t.model_versions.c.model_id == mid)
                            .scalar_subquery(),
                        ).where(t.models.c.id == mid)
                    ).one()
                    version = max(highest[0] or 0, highest[1] or 0) + 1
                    conn.execute(
                        t.models.update().where(t.models.c.id == mid).values(last_version=version)
                    )
                    conn.execute(
                        t.model_versions.insert(),
                        {
                            "model_id": mid,
                            "version": version,
                            "status": "ready",
                            "created_at": now_ms(),
                            **fields,
                        },
                    )
                    row = self._version_row(conn, name, mid, version)
                    return self._to_version(conn, name, row)
            except sa.exc.IntegrityError:
                if attempt == 7:
                    raise
        raise AssertionError("unreachable")

    def get_model_version(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> ModelVersion:
        """A version by number, by alias, or the latest (``alias='latest'`` or neither)."""
        with self.db.read() as conn:
            mid = self._model_id(conn, name)
            if version is None and alias not in (None, "latest"):
                v = conn.execute(
                    sa.select(t.model_aliases.c.version).where(
                        t.model_aliases.c.model_id == mid, t.model_aliases.c.alias == alias
                    )
                ).scalar()
                if v is None:
                    known = sorted(self._alias_map(conn, mid))
                    raise ModelNotFoundError(
                        f"Model {name!r} has no alias {alias!r}. Its aliases are: "
                        + (", ".join(known) or "none")
                        + " (and 'latest'). Set one with mainsail.set_alias(...)."
                    )
                version = int(v)
            if version is None:
                version = conn.execute(
                    sa.select(sa.func.max(t.model_versions.c.version)).where(
                        t.model_versions.c.model_id == mid,
                        t.model_versions.c.status == "ready",
                    )
                ).scalar()
                if version is None:
                    raise ModelNotFoundError(f"Model {name!r} has no version that is not archived.")
            return self._to_version(conn, name, self._version_row(conn, name, mid, int(version)))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            mid = self._model_id(conn, name)
            rows = conn.execute(
                sa.select(t.model_versions)
                .where(t.model_versions.c.model_id == mid)
                .order_by(t.model_versions.c.version)
            ).all()
            return [self._to_version(conn, name, r) for r in rows]

    def list_models(self) -> list[RegisteredModel]:
        with self.db.read() as conn:
            models = conn.execute(sa.select(t.models).order_by(t.models.c.name)).all()
            out = []
            for m in models:
                versions = self._versions_of(conn, m.id)
                aliases = {a: v for v, names in self._aliases_of(conn, m.id).items() for a in names}
                out.append(
                    RegisteredModel(
                        name=m.name,
                        description=m.description,
                        created_at=m.created_at,
                        latest_version=versions[-1] if versions else None,
                        versions=len(versions),
                        aliases=aliases,
                    )
                )
            return out

    def set_version_status(self, name: str, version: int, status: str) -> ModelVersion:
        with self.db.write() as conn:
            mid = self._model_id(conn, name)
            self._version_row(conn, name, mid, version)
            if status == "archived":
                holders = [a for a, v in self._alias_map(conn, mid).items() if v == version]
                if holders:
                    raise ModelStateError(
                        f"Version {version} of {name!r} is still the target of alias(es) "
                        f"{', '.join(holders)}. Move them first (mainsail.set_alias), then archive."
                    )
            conn.execute(
                t.model_versions.update()
                .where(t.model_versions.c.model_id == mid, t.model_versions.c.version == version)
                .values(status=status)
            )
            return self._to_version(conn, name, self._version_row(conn, name, mid, version))

    def update_model_version(self, name: str, version: int, **fields: Any) -> ModelVersion:
        """Update mutable metadata (description, tags, card); files and lineage never change."""
        allowed = {"description", "tags", "card"}
        bad = set(fields) - allowed
        if bad:
            raise ModelStateError(
                f"Only {', '.join(sorted(allowed))} of a version can change; "
                f"{', '.join(sorted(bad))} are immutable. Register a new version instead."
            )
        with self.db.write() as conn:
            mid = self._model_id(conn, name)
            self._version_row(conn, name, mid, version)
            conn.execute(
                t.model_versions.update()
                .where(t.model_versions.c.model_id == mid, t.model_versions.c.version == version)
                .values(**fields)
            )
            return self._to_version(conn, name, self._version_row(conn, name, mid, version))

    def delete_model_version(self, name: str, version: int) -> None:
        with self.db.write() as conn:
            mid = self._model_id(conn, name)
            self._version_row(conn, name, mid, version)
            holders = [a for a, v in self._alias_map(conn, mid).items() if v == version]
            if holders:
                raise ModelStateError(
                    f"Cannot delete version {version} of {name!r}: alias(es) "
                    f"{', '.join(holders)} point to it. Move or remove them first."
                )
            served = _endpoint_references(conn, name, version)
            if served:
                raise ModelStateError(
                    f"Cannot delete version {version} of {name!r}: endpoint revisions reference "
                    f"it ({'; '.join(served)}). A revision in an endpoint's history is what a "
                    "rollback returns to, so it must stay loadable. Archive the version instead "
                    f"(mainsail.archive_version({name!r}, {version})): it stays loadable and "
                    "is no longer offered as current."
                )
            for hook in _DELETE_GUARDS:
                hook(conn, name, version)
            conn.execute(
                t.model_versions.delete().where(
                    t.model_versions.c.model_id == mid, t.model_versions.c.version == version
                )
            )

    # -- aliases ---------------------------------------------------------------------------
    def _alias_map(self, conn: Connection, model_id: int) -> dict[str, int]:
        return {a: v for v, names in self._aliases_of(conn, model_id).items() for a in names}

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        actor: str | None,
        require_checks: bool | None = None,
    ) -> Alias:
        """Move ``alias`` to ``version`` atomically, recording who moved it from where."""
        if alias in _RESERVED_ALIASES:
            raise ModelStateError(
                f"'{alias}' is reserved: it always means the newest version. Pick another name."
            )
        with self.db.write() as conn:
            mid = self._model_id(conn, name)
            row = self._version_row(conn, name, mid, version)
            if row.status == "archived":
                raise ModelStateError(
                    f"Version {version} of {name!r} is archived; an alias cannot point to it. "
                    "Unarchive it first, or choose a version that is ready."
                )
            current = conn.execute(
                sa.select(t.model_aliases).where(
                    t.model_aliases.c.model_id == mid, t.model_aliases.c.alias == alias
                )
            ).first()
            req = (
                require_checks
                if require_checks is not None
                else bool(current.require_checks if current is not None else False)
            )
            for hook in _ALIAS_GUARDS:
                hook(conn, name, alias, version, req)
            now = now_ms()
            upsert(
                conn,
                t.model_aliases,
                [
                    {
                        "model_id": mid,
                        "alias": alias,
                        "version": version,
                        "require_checks": req,
                        "updated_at": now,
                        "updated_by": actor,
                    }
                ],
                keys=["model_id", "alias"],
                update=["version", "require_checks", "updated_at", "updated_by"],
            )
            conn.execute(
                t.alias_history.insert(),
                {
                    "model_id": mid,
                    "alias": alias,
                    "from_version": current.version if current is not None else None,
                    "to_version": version,
                    "actor": actor,
                    "ts": now,
                },
            )
            return Alias(
                alias=alias, version=version, require_checks=req, updated_at=now, updated_by=actor
            )

    def delete_alias(self, name: str, alias: str, actor: str | None) -> None:
        with self.db.write() as conn:
            mid = self._model_id(conn, name)
            current = self._alias_map(conn, mid).get(alias)
            if current is None:
                raise ModelNotFoundError(f"Model {name!r} has no alias {alias!r}.")
            conn.execute(
                t.model_aliases.delete().where(
                    t.model_aliases.c.model_id == mid, t.model_aliases.c.alias == alias
                )
            )
            conn.execute(
                t.alias_history.insert(),
                {
                    "model_id": mid,
                    "alias": alias,
                    "from_version": current,
                    "to_version": None,
                    "actor": actor,
                    "ts": now_ms(),
                },
            )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        with self.db.read() as conn:
            mid = self._model_id(conn, name)
            q = sa.select(t.alias_history).where(t.alias_history.c.model_id == mid)
            if alias is not None:
                q = q.where(t.alias_history.c.alias == alias)
            rows = conn.execute(q.order_by(t.alias_history.c.id)).all()
        return [
            AliasChange(
                alias=r.alias,
                from_version=r.from_version,
                to_version=r.to_version,
                actor=r.actor,
                ts=r.ts,
            )
            for r in rows
        ]

    def model_digests(self) -> set[str]:
        with self.db.read() as conn:
            return set(conn.execute(sa.select(t.model_versions.c.manifest_digest)).scalars())


# Later features (endpoints, release checks) register guards here instead of the registry
# importing them: a guard raises to refuse a delete or an alias move.
_DELETE_GUARDS: list[Any] = []


def _endpoint_references(conn: Connection, name: str, version: int) -> list[str]:
    """Endpoint revisions and unfinished rollouts that name ``name`` version ``version``.

    One line per endpoint, e.g. ``churn: revisions 2, 3 (current)``; empty when none does.
    """
    rows = conn.execute(
        sa.select(
            t.endpoints.c.name,
            t.endpoints.c.current_revision,
            t.endpoint_revisions.c.revision,
            t.endpoint_revisions.c.variants,
        )
        .join(t.endpoints, t.endpoints.c.id == t.endpoint_revisions.c.endpoint_id)
        .order_by(t.endpoints.c.name, t.endpoint_revisions.c.revision)
    ).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        if any(
            v.get("model") == name and int(v.get("version", -1)) == version
            for v in row.variants or []
        ):
            current = " (current)" if row.revision == row.current_revision else ""
            found.setdefault(row.name, []).append(f"{row.revision}{current}")
    # a pending rollout names its target before any revision does
    pending = conn.execute(
        sa.select(t.endpoints.c.name, t.rollouts.c.id, t.rollouts.c.spec)
        .join(t.endpoints, t.endpoints.c.id == t.rollouts.c.endpoint_id)
        .where(t.rollouts.c.state.in_(["pending", "progressing", "paused"]))
    ).all()
    rollouts: dict[str, list[str]] = {}
    for prow in pending:
        target = (prow.spec or {}).get("target") or {}
        if target.get("model") == name and int(target.get("version", -1)) == version:
            rollouts.setdefault(prow.name, []).append(str(prow.id))
    out = []
    for endpoint in sorted(set(found) | set(rollouts)):
        parts = []
        if endpoint in found:
            parts.append("revisions " + ", ".join(found[endpoint]))
        if endpoint in rollouts:
            parts.append("rollout " + ", ".join(rollouts[endpoint]))
        out.append(f"{endpoint}: {' and '.join(parts)}")
    return out


_ALIAS_GUARDS: list[Any] = []
