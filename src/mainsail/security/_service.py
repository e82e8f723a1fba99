"""The security domain service: issue and check tokens, bootstrap the first admin."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mainsail.core._roles import DEFAULT_SCOPES, check_role, check_scopes
from mainsail.core._security_schemas import IssuedToken
from mainsail.core._tokens import hash_token
from mainsail.security._roles import Principal

if TYPE_CHECKING:
    from mainsail.store.protocols import AuthStore, SecurityStore

_TOUCH_EVERY_S = 60.0


def issue_token(
    store: SecurityStore,
    user: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    name: str | None = None,
    expires_at: int | None = None,
) -> IssuedToken:
    """Create a token for ``user``; the plaintext is in the result and nowhere else.

    ``store`` is either store: next to the database, or a server's (which issues it).

    Examples
    --------
    >>> issued = issue_token(ctx.store, "ana", scopes=["api"])  # doctest: +SKIP
    >>> issued.token.startswith("ms_")  # doctest: +SKIP
    True
    """
    return store.issue_token(user, check_scopes(list(scopes)), name, expires_at)


def create_user_with_token(
    store: SecurityStore,
    name: str,
    role: str,
    project: str = "*",
    kind: str = "user",
    scopes: Sequence[str] = DEFAULT_SCOPES,
    created_by: str | None = None,
) -> IssuedToken:
    """Create a user (or service account) bound to ``role`` on ``project``, with a first token.

    Examples
    --------
    >>> create_user_with_token(ctx.store, "ana", "developer", project="churn-*").token  # doctest: +SKIP
    'ms_...'
    """
    check_role(role)
    created = store.create_user_with_token(name, kind, {project: role}, scopes, created_by)
    assert created.token is not None  # asked for: the store issued it
    return created.token


class Authenticator:
    """Maps a bearer token to a :class:`Principal`; records last use at most once a minute."""

    def __init__(self, store: AuthStore) -> None:
        self.store = store
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> Principal | None:
        found = self.store.token_principal(hash_token(token))
        if found is None:
            return None
        tid = int(found["token_id"])
        now = time.monotonic()
        with self._lock:
            due = now - self._touched.get(tid, -_TOUCH_EVERY_S) >= _TOUCH_EVERY_S
            if due:
                self._touched[tid] = now
        if due:
            self.store.touch_token(tid)
        return Principal(
            name=str(found["name"]),
            bindings=dict(found["bindings"]),
            scopes=tuple(found["scopes"]),
            token_id=tid,
        )
