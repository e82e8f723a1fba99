"""Security persistence: users, role bindings, hashed tokens and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    UserNotFoundError,
)
from mainsail.core._ids import now_ms
from mainsail.core._roles import check_role, check_scopes
from mainsail.core._security_schemas import AuditEvent, TokenInfo, User
from mainsail.store import _tables as t
from mainsail.store._upsert import upsert

if TYPE_CHECKING:
    from mainsail.store._db import Database


class SecurityStoreMixin:
    """SQL methods of users, tokens and audit events; mixed into ``SqlStore``."""

    db: Database

    # -- users -----------------------------------------------------------------------------
    def _user_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
        if row is None:
            known = conn.execute(sa.select(t.users.c.name).order_by(t.users.c.name)).scalars()
            raise UserNotFoundError(
                f"No user named {name!r}. Known users: "
                + (", ".join(known) or "none yet")
                + ". Create one with 'mainsail users create NAME --role ROLE'."
            )
        return row

    def _to_user(self, conn: Connection, row: Any) -> User:
        roles = {
            r.project: r.role
            for r in conn.execute(
                sa.select(t.role_bindings).where(t.role_bindings.c.user_id == row.id)
            )
        }
        return User(**row._mapping, roles=roles)

    def create_user(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> User:
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidValueError(f"A user name is 1 to 256 characters. Got {name!r}.")
        if kind not in ("user", "service"):
            raise InvalidValueError(f"A user kind is 'user' or 'service'. Got {kind!r}.")
        for role in (roles or {}).values():
            check_role(role)
        with self.db.write() as conn:
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).first():
                raise ConflictError(
                    f"A user named {name!r} already exists. Pick another name, or grant it a "
                    "role with 'mainsail users grant'."
                )
            uid = conn.execute(
                t.users.insert().returning(t.users.c.id),
                {
                    "name": name,
                    "kind": kind,
                    "disabled": False,
                    "created_at": now_ms(),
                    "created_by": created_by,
                },
            ).scalar_one()
            for project, role in (roles or {}).items():
                conn.execute(
                    t.role_bindings.insert(), {"user_id": uid, "project": project, "role": role}
                )
            return self._to_user(conn, self._user_row(conn, name))

    def get_user(self, name: str) -> User:
        with self.db.read() as conn:
            return self._to_user(conn, self._user_row(conn, name))

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.name)).all()
            return [self._to_user(conn, r) for r in rows]

    def count_users(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one())

    def set_role(self, name: str, project: str, role: str | None) -> User:
        """Bind ``role`` to ``name`` on ``project`` (``None`` removes the binding)."""
        if not isinstance(project, str) or not project or len(project) > 256:
            raise InvalidValueError(f"A project pattern is 1 to 256 characters. Got {project!r}.")
        with self.db.write() as conn:
            row = self._user_row(conn, name)
            if role is None:
                conn.execute(
                    t.role_bindings.delete().where(
                        t.role_bindings.c.user_id == row.id, t.role_bindings.c.project == project
                    )
                )
            else:
                check_role(role)
                upsert(
                    conn,
                    t.role_bindings,
                    [{"user_id": row.id, "project": project, "role": role}],
                    keys=["user_id", "project"],
                    update=["role"],
                )
            return self._to_user(conn, row)

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        with self.db.write() as conn:
            row = self._user_row(conn, name)
            conn.execute(t.users.update().where(t.users.c.id == row.id).values(disabled=disabled))
            return self._to_user(conn, self._user_row(conn, name))

    # -- tokens ----------------------------------------------------------------------------
    def _to_token(self, row: Any) -> TokenInfo:
        m = dict(row._mapping)
        return TokenInfo(
            id=m["id"],
            user=m["user"],
            name=m["name"],
            prefix=m["prefix"],
            scopes=list(m["scopes"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            revoked_at=m["revoked_at"],
            last_used_at=m["last_used_at"],
        )

    def _token_query(self) -> Any:
        return sa.select(
            t.tokens.c.id,
            t.users.c.name.label("user"),
            t.tokens.c.name,
            t.tokens.c.prefix,
            t.tokens.c.scopes,
            t.tokens.c.created_at,
            t.tokens.c.expires_at,
            t.tokens.c.revoked_at,
            t.tokens.c.last_used_at,
        ).join(t.users, t.users.c.id == t.tokens.c.user_id)

    def create_token(
        self,
        user: str,
        token_hash: str,
        prefix: str,
        scopes: Sequence[str],
        name: str | None = None,
        expires_at: int | None = None,
    ) -> TokenInfo:
        scopes = check_scopes(list(scopes))
        with self.db.write() as conn:
            row = self._user_row(conn, user)
            tid = conn.execute(
                t.tokens.insert().returning(t.tokens.c.id),
                {
                    "user_id": row.id,
                    "name": name,
                    "token_hash": token_hash,
                    "prefix": prefix,
                    "scopes": scopes,
                    "created_at": now_ms(),
                    "expires_at": expires_at,
                },
            ).scalar_one()
            return self._to_token(
                conn.execute(self._token_query().where(t.tokens.c.id == tid)).one()
            )

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        q = self._token_query().order_by(t.tokens.c.id)
        if user is not None:
            q = q.where(t.users.c.name == user)
        with self.db.read() as conn:
            return [self._to_token(r) for r in conn.execute(q)]

    def get_token(self, token_id: int) -> TokenInfo:
        with self.db.read() as conn:
            row = conn.execute(self._token_query().where(t.tokens.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(
                f"No token with id {token_id}. List tokens with 'mainsail tokens list'."
            )
        return self._to_token(row)

    def revoke_token(self, token_id: int) -> TokenInfo:
        self.get_token(token_id)
        with self.db.write() as conn:
            conn.execute(
                t.tokens.update()
                .where(t.tokens.c.id == token_id, t.tokens.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
        return self.get_token(token_id)

    def token_principal(self, token_hash: str) -> dict[str, Any] | None:
        """The live token with this hash and its user's bindings, or ``None``."""
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(
                    t.tokens.c.id,
                    t.tokens.c.scopes,
                    t.tokens.c.expires_at,
                    t.tokens.c.revoked_at,
                    t.users.c.id.label("user_id"),
                    t.users.c.name,
                    t.users.c.disabled,
                )
                .join(t.users, t.users.c.id == t.tokens.c.user_id)
                .where(t.tokens.c.token_hash == token_hash)
            ).first()
            if row is None or row.revoked_at is not None or row.disabled:
                return None
            if row.expires_at is not None and row.expires_at <= now_ms():
                return None
            bindings = {
                r.project: r.role
                for r in conn.execute(
                    sa.select(t.role_bindings).where(t.role_bindings.c.user_id == row.user_id)
                )
            }
        return {
            "token_id": row.id,
            "name": row.name,
            "scopes": list(row.scopes),
            "bindings": bindings,
        }

    def touch_token(self, token_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.tokens.update().where(t.tokens.c.id == token_id).values(last_used_at=now_ms())
            )

    # -- audit -----------------------------------------------------------------------------
    def add_audit_event(
        self,
        actor: str,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        client: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        ts: int | None = None,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.audit_events.insert(),
                {
                    "ts": ts or now_ms(),
                    "actor": actor[:256],
                    "action": action[:128],
                    "target": target[:1024],
                    "before": before,
                    "after": after,
                    "client": client,
                    "status": status,
                    "request_id": request_id,
                },
            )

    def list_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Newest first; ``action`` and ``target`` match as prefixes."""
        a = t.audit_events
        q = sa.select(a).order_by(a.c.id.desc()).limit(max(1, min(int(limit), 10000)))
        if actor is not None:
            q = q.where(a.c.actor == actor)
        if action is not None:
            q = q.where(a.c.action.startswith(action, autoescape=True))
        if target is not None:
            q = q.where(a.c.target.startswith(target, autoescape=True))
        if since is not None:
            q = q.where(a.c.ts >= since)
        with self.db.read() as conn:
            return [AuditEvent(**r._mapping) for r in conn.execute(q)]
