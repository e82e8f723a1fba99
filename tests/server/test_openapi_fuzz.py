"""schemathesis fuzzes every operation in /api/v1/openapi.json: no 5xx (bounded examples)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from mainsail.client._context import Context  # noqa: E402
from mainsail.core._settings import Settings  # noqa: E402
from mainsail.security import create_user_with_token  # noqa: E402
from mainsail.server import create_app  # noqa: E402
from mainsail.store import ArtifactStore, Database, SqlStore  # noqa: E402

# On tmpfs where there is one: every mutating call commits (and audits) in SQLite.
_DIR = Path(
    tempfile.mkdtemp(prefix="mainsail-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
)
atexit.register(shutil.rmtree, _DIR, True)
_STORE = SqlStore(Database(f"sqlite:///{_DIR / 'mainsail.db'}"))
_CTX = Context(Settings(home=_DIR), _STORE, ArtifactStore(str(_DIR / "artifacts")))
_TOKEN = create_user_with_token(_STORE, "fuzzer", "admin").token
_RUN = uuid.uuid4().hex
_STORE.create_run(_RUN, "fuzz", "seed")
APP = create_app(_CTX, auth=True)

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {_TOKEN}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
