"""Store backends for the contract suites: SQL (SQLite, PostgreSQL) and REST over a server.

``rest-sqlite`` and ``rest-postgres`` run the REST store against the app in process (ASGI
transport, auth on) over each SQL backend; ``rest-process`` against a real ``mainsail server``
child process on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["sqlite", "postgres", "rest-sqlite", "rest-postgres"]
# A real server process costs seconds to start, so it runs a representative subset.
REAL_PROCESS_TESTS = {
    "test_run_round_trip",
    "test_search_filters_and_orders",
    "test_artifacts_and_inputs",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        params = list(BACKENDS)
        if metafunc.function.__name__ in REAL_PROCESS_TESTS:
            params.append("rest-process")
        metafunc.parametrize("store", params, indirect=True)


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'contract' / 'mainsail.db'}"


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from mainsail.store import Database, SqlStore

    kind: str = request.param
    if kind in ("sqlite", "postgres"):
        url = _sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("pg_url")
        s = SqlStore(Database(url))
        yield s
        s.db.dispose()
        return
    from mainsail.security import create_user_with_token
    from mainsail.store._rest_store import RestClient, RestStore

    if kind == "rest-process":
        from mainsail.server._process import ServerProcess

        home = tmp_path / "srv"
        with ServerProcess(home, "--no-controllers", "--bootstrap-admin") as srv:
            token = re.search(r"^ms_\S+$", srv.output(), re.M).group(0)  # type: ignore[union-attr]
            rest = RestStore(RestClient(srv.url, token=token))
            yield rest
            rest.close()
        return
    from fastapi.testclient import TestClient

    from mainsail.client._context import Context
    from mainsail.core._settings import Settings
    from mainsail.server import create_app
    from mainsail.store import ArtifactStore

    url = _sqlite_url(tmp_path) if kind == "rest-sqlite" else request.getfixturevalue("pg_url")
    sql = SqlStore(Database(url))
    request.node.mainsail_sql_store = sql  # type: ignore[attr-defined]  # see sql_store
    ctx = Context(Settings(home=tmp_path / "h"), sql, ArtifactStore(str(tmp_path / "art")))
    token = create_user_with_token(sql, "admin", "admin").token
    with TestClient(create_app(ctx, auth=True)) as client:
        rest = RestStore(RestClient("http://testserver", token=token, client=client))
        yield rest
    sql.db.dispose()


@pytest.fixture
def sql_store(store: Any, request: pytest.FixtureRequest) -> Any:
    """The SQL store behind ``store``: itself for SQL backends, the server's for REST ones
    (in process), to write what only runs next to the database (monitor results, alerts)."""
    return getattr(request.node, "mainsail_sql_store", store)
