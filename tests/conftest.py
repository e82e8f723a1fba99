"""Shared fixtures: an isolated Mainsail home per test, and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get(
    "MAINSAIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture(scope="session", autouse=True)
def _one_native_thread() -> Iterator[None]:
    """One OpenMP/BLAS thread here and in every process a test starts (servers, workers).

    The suite runs a test process, server processes and client threads on a couple of
    cores; OpenMP teams spin-wait against each other there (a 30-iteration histogram GBM
    fit took 3-4 s with 2 threads and 0.45 s with 1 on a loaded 2-core machine).
    Set OMP_NUM_THREADS (etc.) yourself to run with more.
    """
    from threadpoolctl import threadpool_limits

    saved = {k: os.environ.get(k) for k in NATIVE_THREAD_VARS}
    for k in NATIVE_THREAD_VARS:
        os.environ.setdefault(k, "1")
    with threadpool_limits(limits=int(os.environ["OMP_NUM_THREADS"])):
        yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's MAINSAIL_* settings or writes to ./.mainsail."""
    for key in list(os.environ):
        if key.startswith("MAINSAIL_") and key != "MAINSAIL_TEST_PG_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "home"))
    import mainsail.client as client

    client.reset()
    yield
    from mainsail.tracking._run import end_all_runs

    end_all_runs()
    client.reset()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def ctx(home: Path):  # type: ignore[no-untyped-def]
    import mainsail

    return mainsail.configure(home=str(home))


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI and unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> str:
    import sqlalchemy as sa

    try:
        eng = sa.create_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        _pg_unavailable(str(exc).splitlines()[0])
    return PG_ADMIN_URL


def create_pg_database(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database next to ``admin_url``: its URL and a function dropping it."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Callable[[str], tuple[str, Callable[[], None]]]:
    """Make throwaway databases from fixtures of any scope: ``url, drop = pg_database("x")``."""
    return lambda prefix: create_pg_database(pg_server, prefix)


@pytest.fixture
def pg_url(pg_database: Callable[[str], tuple[str, Callable[[], None]]]) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    url, drop = pg_database("mainsail_test")
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract' / 'mainsail.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``mainsail <args>`` in process; returns (exit code, stdout, stderr)."""

    from mainsail.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


# -- the team server: an app over a fresh SQLite store, one token per role -------------------
@pytest.fixture
def server_ctx(tmp_path: Path) -> Iterator[Any]:
    from mainsail.client._context import Context
    from mainsail.core._settings import Settings
    from mainsail.store import ArtifactStore, Database, SqlStore

    store = SqlStore(Database(f"sqlite:///{tmp_path / 'srv' / 'mainsail.db'}"))
    yield Context(Settings(home=tmp_path / "srv"), store, ArtifactStore(str(tmp_path / "art")))
    store.db.dispose()


@pytest.fixture
def tokens(server_ctx: Any) -> dict[str, str]:
    """role -> token of a user holding that role on every project."""
    from mainsail.security import ROLES, create_user_with_token

    return {
        role: create_user_with_token(server_ctx.store, f"{role}-user", role).token for role in ROLES
    }


@pytest.fixture
def client_for(server_ctx: Any, tokens: dict[str, str]) -> Iterator[Callable[..., Any]]:
    from fastapi.testclient import TestClient

    from mainsail.server import create_app

    app = create_app(server_ctx, auth=True)
    opened: list[Any] = []

    def make(role: str | None = None, token: str | None = None) -> Any:
        c = TestClient(app, raise_server_exceptions=False)
        tok = token or (tokens[role] if role else None)
        if tok:
            c.headers["Authorization"] = f"Bearer {tok}"
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


@pytest.fixture
def loopback_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let webhooks call test sinks on 127.0.0.1 (refused by default: SSRF)."""
    from mainsail.core._settings import reset_settings

    monkeypatch.setenv("MAINSAIL_WEBHOOK_ALLOW", "127.0.0.1")
    reset_settings()
    yield
    monkeypatch.delenv("MAINSAIL_WEBHOOK_ALLOW")
    reset_settings()
