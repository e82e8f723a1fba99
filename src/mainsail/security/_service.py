"""The security domain service: issue and check tokens, bootstrap the first admin."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mainsail.security._models import IssuedToken
from mainsail.security._roles import DEFAULT_SCOPES, Principal, check_role
from mainsail.security._tokens import display_prefix, hash_token, new_token

if TYPE_CHECKING:
    from mainsail.store.protocols import LocalStore

_TOUCH_EVERY_S = 60.0


def issue_token(
    store: LocalStore,
    user: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    name: str | None = None,
    expires_at: int | None = None,
) -> IssuedToken:
    """Create a token for ``user``; the plaintext is in the result and nowhere else.

    Examples
    --------
    >>> issued = issue_token(ctx.store, "ana", scopes=["api"])  # doctest: +SKIP
    >>> issued.token.startswith("ms_")  # doctest: +SKIP
    True
    """
    token = new_token()
    info = store.create_token(
        user, hash_token(token), display_prefix(token), list(scopes), name, expires_at
    )
    return IssuedToken(token=token, info=info)


def create_user_with_token(
    store: LocalStore,
    name: str,
    role: str,
    project: str = "*",
    kind: str = "user",
    scopes: Sequence[str] = DEFAULT_SCOPES,
    created_by: str | None = None,
) -> IssuedToken:
    """Create a user (or service account) bound to ``role`` on ``project``, with a first token."""
    check_role(role)
    store.create_user(name, kind=kind, roles={project: role}, created_by=created_by)
    return issue_token(store, name, scopes, name="initial")


class Authenticator:
    """Maps a bearer token to a :class:`Principal`; records last use at most once a minute."""

    def __init__(self, store: LocalStore) -> None:
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
