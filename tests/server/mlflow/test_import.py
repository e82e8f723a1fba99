"""``mainsail import mlflow`` over an MLflow SQLite store written by the real MLflow client."""

from __future__ import annotations

import getpass
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mainsail

pytestmark = pytest.mark.timeout(1500)  # the first run creates the MLflow venv

MAKE_STORE = """
import json, mlflow, numpy as np, pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression, LogisticRegression

X = pd.DataFrame(np.random.RandomState(0).normal(size=(40, 2)), columns=["a", "b"])
y = (X.a > 0).astype(int)
mlflow.set_experiment("imp-a")
with mlflow.start_run(run_name="good") as good:
    mlflow.log_params({"depth": 3, "lr": 0.1})
    for i in range(20):
        mlflow.log_metric("loss", 1 / (i + 1), step=i)
    mlflow.log_metric("odd", float("nan"))
    mlflow.set_tags({"team": "a"})
    open("n.txt", "w").write("hi")
    mlflow.log_artifact("n.txt", "docs")
    info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model", input_example=X[:3])
    pickled = mlflow.sklearn.log_model(
        LinearRegression().fit(X, y), name="pickled", input_example=X[:3],
        serialization_format="cloudpickle",
    )
with mlflow.start_run(run_name="bad") as bad:
    mlflow.log_metric("loss", 9.0)
mlflow.end_run()
MlflowClient().set_terminated(bad.info.run_id, "FAILED")
with mlflow.start_run(run_name="gone") as gone:
    pass
MlflowClient().delete_run(gone.info.run_id)
mlflow.set_experiment("imp-b")
with mlflow.start_run(run_name="other"):
    mlflow.log_param("x", "y")
c = MlflowClient()
v1 = mlflow.register_model(info.model_uri, "imp-clf")
v2 = mlflow.register_model(info.model_uri, "imp-clf")
c.set_registered_model_alias("imp-clf", "champion", v1.version)
c.transition_model_version_stage("imp-clf", v2.version, "Production")
mlflow.register_model(pickled.model_uri, "imp-pickled")
print(json.dumps({"good": good.info.run_id, "bad": bad.info.run_id, "gone": gone.info.run_id}))
"""


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory, mlflow_python: Path) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("mlflow-store")
    store = _make_store(mlflow_python, folder, f"sqlite:///{folder / 'mlflow.db'}")
    return {**store, "url": f"sqlite:///{folder / 'mlflow.db'}"}


def _make_store(mlflow_python: Path, folder: Path, uri: str) -> dict[str, Any]:
    import json
    import os
    import subprocess

    (folder / "make.py").write_text(MAKE_STORE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "PYTHON"))}
    env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    proc = subprocess.run(
        [str(mlflow_python), "make.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    return {"folder": folder, **ids}


def _mlflow_rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def test_import_copies_every_field_and_is_idempotent(
    mlflow_store: dict[str, Any], cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    _check_import(mlflow_store, mlflow_store["folder"] / "mlflow.db", cli, tmp_path)


@pytest.fixture(scope="module")
def mlflow_http_store(
    tmp_path_factory: pytest.TempPathFactory, mlflow_python: Path
) -> Iterator[dict[str, Any]]:
    """The same store written through a real ``mlflow server`` (proxied artifacts)."""
    import os
    import socket
    import subprocess
    import time

    import httpx

    folder = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "PYTHON"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            str(mlflow_python.parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "mlartifacts"),
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (folder / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        store = _make_store(mlflow_python, folder, url)
        yield {**store, "url": url}
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_import_from_a_running_mlflow_server(
    mlflow_http_store: dict[str, Any], cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    db = mlflow_http_store["folder"] / "mlflow.db"
    _check_import(mlflow_http_store, db, cli, tmp_path)


def _check_import(
    mlflow_store: dict[str, Any],
    db: Path,
    cli: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
) -> None:
    code, out, err = cli("import", "mlflow", "--from", mlflow_store["url"])
    assert code == 0, err
    assert "Imported 3 experiment(s), 4 run(s) (0 already there)" in " ".join(out.split())
    assert "imp-pickled version 1" in " ".join(err.split())  # pickled: skipped, said why
    assert "is not finite" in err

    ctx = mainsail.get_context()
    for (run_id,) in _mlflow_rows(db, "select run_uuid from runs"):
        run = mainsail.get_run(run_id)
        (name, status, start, end, user, exp, stage) = _mlflow_rows(
            db,
            "select r.name, r.status, r.start_time, r.end_time, r.user_id, e.name, "
            "r.lifecycle_stage from runs r join experiments e using (experiment_id) "
            "where run_uuid = ?",
            run_id,
        )[0]
        assert (run.name, run.experiment, run.start_time, run.end_time, run.user) == (
            name,
            exp,
            start,
            end,
            user,
        )
        assert run.status == status.lower()
        assert run.params == dict(
            _mlflow_rows(db, "select key, value from params where run_uuid=?", run_id)
        )
        tags = dict(_mlflow_rows(db, "select key, value from tags where run_uuid = ?", run_id))
        tags.pop("mlflow.runName")
        assert {k: v for k, v in run.tags.items() if not k.startswith("mlflow.loggedModel.")} == {
            **tags,
            "mlflow.run_id": run_id,
            "mlflow.experiment_id": str(
                _mlflow_rows(db, "select experiment_id from runs where run_uuid=?", run_id)[0][0]
            ),
            **({"mlflow.lifecycle_stage": "deleted"} if stage == "deleted" else {}),
        }
        for (key,) in _mlflow_rows(
            db, "select distinct key from metrics where run_uuid=? and is_nan=0", run_id
        ):
            want = _mlflow_rows(
                db,
                "select step, value, timestamp from metrics where run_uuid=? and key=? "
                "order by step, timestamp",
                run_id,
                key,
            )
            got = [(p.step, p.value, p.ts) for p in ctx.store.metric_history(run_id, key)]
            assert got == want
    good = mainsail.get_run(mlflow_store["good"])
    paths = sorted(a.path for a in good.artifacts)
    assert "docs/n.txt" in paths and any(p.endswith("/MLmodel") for p in paths)
    got = mainsail.client.download_artifact(good.id, "docs/n.txt", tmp_path / "n.txt")
    assert got.read_text() == "hi"
    assert "odd" not in good.metrics

    v1 = ctx.store.get_model_version("imp-clf", alias="champion")
    v2 = ctx.store.get_model_version("imp-clf", alias="production")
    assert (v1.version, v2.version) == (1, 2) and v1.flavor == "sklearn"
    assert v1.tags["mlflow.model_version"] == "1" and v1.run_id == good.id
    assert v1.tags["mlflow.source"].startswith("models:/m-")
    user = _mlflow_rows(db, "select user_id from model_versions where version = 1")[0][0]
    assert v1.created_by == (user or getpass.getuser())  # MLflow's user, else who imports

    # again: nothing new, nothing duplicated
    code, out, err = cli("import", "mlflow", "--from", mlflow_store["url"])
    assert code == 0, err
    text = " ".join(out.split())
    assert "0 run(s) (4 already there)" in text and "0 model version(s) (2 already there)" in text
    assert len(ctx.store.list_model_versions("imp-clf")) == 2


def test_a_newer_mlflow_schema_is_refused(
    mlflow_store: dict[str, Any], cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    copy = tmp_path / "newer.db"
    shutil.copy(mlflow_store["folder"] / "mlflow.db", copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("update alembic_version set version_num = 'f00dfeed1234'")
    code, out, err = cli("import", "mlflow", "--from", f"sqlite:///{copy}")
    assert code != 0
    text = " ".join(err.split())
    assert "schema revision 'f00dfeed1234'" in text and "newer MLflow" in text
    assert mainsail.get_context().store.list_experiments() == []  # nothing was read


def test_bad_sources_and_names_are_clear(
    mlflow_store: dict[str, Any], cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, _, err = cli("import", "mlflow", "--from", f"sqlite:///{tmp_path / 'none.db'}")
    assert code != 0 and "No MLflow database at" in err
    code, _, err = cli("import", "mlflow", "--from", mlflow_store["url"], "--experiments", "nope")
    assert code != 0 and "No MLflow experiment named nope" in " ".join(err.split())
    code, out, err = cli(
        "import", "mlflow", "--from", mlflow_store["url"], "--experiments", "imp-b"
    )
    assert code == 0 and "1 run(s)" in out
