"""A server app over a fresh SQLite store, with one token per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.core._settings import Settings
from mainsail.security import ROLES, create_user_with_token
from mainsail.server import create_app
from mainsail.store import ArtifactStore, Database, SqlStore


@pytest.fixture
def server_ctx(tmp_path: Path) -> Iterator[Context]:
    store = SqlStore(Database(f"sqlite:///{tmp_path / 'srv' / 'mainsail.db'}"))
    yield Context(Settings(home=tmp_path / "srv"), store, ArtifactStore(str(tmp_path / "art")))
    store.db.dispose()


@pytest.fixture
def tokens(server_ctx: Context) -> dict[str, str]:
    """role -> token of a user holding that role on every project."""
    return {
        role: create_user_with_token(server_ctx.store, f"{role}-user", role).token for role in ROLES
    }


@pytest.fixture
def client_for(server_ctx: Context, tokens: dict[str, str]) -> Iterator[Callable[..., TestClient]]:
    app = create_app(server_ctx, auth=True)
    opened: list[TestClient] = []

    def make(role: str | None = None, token: str | None = None) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False)
        tok = token or (tokens[role] if role else None)
        if tok:
            c.headers["Authorization"] = f"Bearer {tok}"
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
