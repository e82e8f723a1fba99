"""schemathesis fuzzes every operation in /api/v1/openapi.json, on SQLite and PostgreSQL,
with admin, developer and viewer tokens: never a 5xx, and never a response that shows a
project-scoped caller another project's data (bounded examples, < 60 s in all).

Each backend's store is seeded with a project the scoped caller may not see; every name in
it carries a marker, and every GET is also made with the scoped caller's token: its answer,
whatever the status, must not contain the marker.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from mainsail.client._context import Context  # noqa: E402
from mainsail.core._settings import Settings  # noqa: E402
from mainsail.security import create_user_with_token, issue_token  # noqa: E402
from mainsail.server import create_app  # noqa: E402
from mainsail.store import ArtifactStore, Database, SqlStore  # noqa: E402

from ._domains import add_alert, automation_spec, register_models  # noqa: E402

MARKER = "zetasecret"  # in every name of the project the scoped caller may not see
ROLES = ("admin", "developer", "viewer")


@dataclass
class FuzzEnv:
    ctx: Context
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    turn: Iterator[str] = field(default_factory=lambda: itertools.cycle(ROLES))

    def token(self, user: str) -> str:
        return self.tokens[user]

    def reissue(self, user: str) -> str:
        """A fuzzed DELETE /tokens/{id} may revoke ours: issue a new one."""
        self.tokens[user] = issue_token(self.ctx.store, f"fuzz-{user}", ["api"]).token
        return self.tokens[user]


def _seed(ctx: Context) -> None:
    from mainsail.automation import create_automation
    from mainsail.monitoring import create_monitor
    from mainsail.rollout import deploy

    store = ctx.store
    for project in (MARKER, "alpha"):
        store.create_run(uuid.uuid4().hex, f"{project}-exp", f"{project}-run", tags={"t": project})
    register_models(ctx, name=f"{MARKER}-model")  # two versions and a holdout dataset
    store.set_alias(f"{MARKER}-model", "champion", 1, "seed")
    deploy(ctx, f"{MARKER}-ep", f"models:/{MARKER}-model/1")
    create_monitor(ctx, f"{MARKER}-ep")
    add_alert(ctx, f"{MARKER}-ep")
    spec = automation_spec(f"{MARKER}-auto", endpoint=f"{MARKER}-ep")
    create_automation(ctx, {**spec, "model": f"{MARKER}-model"})


class _Dispatch:
    """The ASGI app the schema calls: the current backend's server (one schema for both)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _bare_app() -> Any:
    """A server over an empty store, only to serve the OpenAPI document at collection."""
    folder = Path(tempfile.mkdtemp(prefix="mainsail-fuzz-schema-"))
    store = SqlStore(Database(f"sqlite:///{folder / 'mainsail.db'}"))
    ctx = Context(Settings(home=folder), store, ArtifactStore(str(folder / "artifacts")))
    return create_app(ctx, auth=False, ui=False)


DISPATCH = _Dispatch()
DISPATCH.app = _bare_app()
# SQLite: schemathesis's coverage phase (boundary values of every field) and fuzzing;
# PostgreSQL: the schema's examples and fuzzing, so the whole file stays under a minute
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", DISPATCH)
pg_schema = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json",
    DISPATCH,
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@contextlib.contextmanager
def _env(url: str, folder: Path) -> Iterator[FuzzEnv]:
    store = SqlStore(Database(url))
    ctx = Context(Settings(home=folder), store, ArtifactStore(str(folder / "artifacts")))
    env = FuzzEnv(ctx, create_app(ctx, auth=True, ui=False))
    for role in ROLES:
        env.tokens[role] = create_user_with_token(store, f"fuzz-{role}", role).token
    env.tokens["scoped"] = create_user_with_token(store, "fuzz-scoped", "viewer", "alpha-*").token
    _seed(ctx)
    DISPATCH.app = env.app
    try:
        yield env
    finally:
        store.db.dispose()


def _folder() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="mainsail-fuzz-", dir=shm if shm.is_dir() else None))


@pytest.fixture(scope="module")
def sqlite_env() -> Iterator[FuzzEnv]:
    folder = _folder()  # tmpfs where there is one: every mutating call commits and audits
    with _env(f"sqlite:///{folder / 'mainsail.db'}", folder) as env:
        yield env
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_env(pg_database: Any) -> Iterator[FuzzEnv]:
    folder = _folder()
    url, drop = pg_database("mainsail_fuzz")
    try:
        with _env(url, folder) as env:
            yield env
    finally:
        drop()
        shutil.rmtree(folder, ignore_errors=True)


def _call(env: FuzzEnv, case: Any, user: str) -> Any:
    response = case.call(headers={"Authorization": f"Bearer {env.token(user)}"})
    if response.status_code == 401:  # our token was revoked by a fuzzed call: once more
        response = case.call(headers={"Authorization": f"Bearer {env.reissue(user)}"})
    return response


def _check(env: FuzzEnv, case: Any) -> None:
    if case.formatted_path.endswith("/jobs/claim") and isinstance(case.body, dict):
        case.body["wait_s"] = 0  # a long poll is no server error; keep the run bounded
    role = next(env.turn)  # admin, developer, viewer in turn across every call
    response = _call(env, case, role)
    where = f"{case.method} {case.formatted_path} as {role}"
    assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:500]}"
    if case.method.upper() != "GET":
        return
    scoped = _call(env, case, "scoped")
    where = f"{case.method} {case.formatted_path} as a viewer of alpha-*"
    assert scoped.status_code < 500, f"{where} -> {scoped.status_code}: {scoped.text[:500]}"
    assert MARKER not in scoped.text, f"{where} leaks another project: {scoped.text[:500]}"


_BOUNDED = dict(
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


@schema.parametrize()
@settings(max_examples=3, **_BOUNDED)  # type: ignore[arg-type]
def test_sqlite_no_server_errors_and_no_cross_project_leak(case: Any, sqlite_env: FuzzEnv) -> None:
    _check(sqlite_env, case)


@pg_schema.parametrize()
@settings(max_examples=4, **_BOUNDED)  # type: ignore[arg-type]
def test_postgres_no_server_errors_and_no_cross_project_leak(
    case: Any, postgres_env: FuzzEnv
) -> None:
    _check(postgres_env, case)
