"""Build contexts install on a machine that has never seen this one (issue 17 item 17).

There is no Docker engine here, so each context is tested the way its image would be
built and run: its ``requirements.txt`` installed into a fresh virtualenv (pip reaches the
package index; Mainsail itself comes from the wheel in the context), then the container's
own command (``entrypoint.sh``, or the Lambda handler) run from that virtualenv against a
real request. The virtualenv is made once per session; installing costs ~20-90 s (pip's
cache warm or cold), hence ``slow`` and a bounded timeout.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.packaging import build_docker, build_lambda

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty virtualenv (no site packages): only what a context installs is in it."""
    root = tmp_path_factory.mktemp("venv") / "v"
    venv.create(root, with_pip=True, clear=True)
    return root


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would leak this interpreter's packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def _install(venv_root: Path, context: Path) -> None:
    proc = subprocess.run(
        [str(venv_root / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=context,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture
def labelled(ctx) -> tuple[Any, Any, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """A classifier with string labels (the Lambda handler answered those with a 500)."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = np.where(X["a"] + X["b"] > 0, "churn", "stay")
    model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    mv = mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    return mv, model, X


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _requirements(context: Path) -> list[str]:
    lines = (context / "requirements.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture
def served(fresh_venv: Path, labelled, tmp_path: Path) -> Iterator[tuple[str, Any, pd.DataFrame]]:  # type: ignore[no-untyped-def]
    mv, model, X = labelled
    context = tmp_path / "docker"
    build_docker(mainsail.get_context(), mv, context)
    reqs = _requirements(context)
    assert reqs[0].startswith("./wheels/mainsail-") and (context / reqs[0]).is_file()
    unpinned = [r for r in reqs[1:] if "==" not in r]
    assert unpinned == [], unpinned
    assert any(r.startswith("scikit-learn==") for r in reqs)
    _install(fresh_venv, context)
    port = _free_port()
    proc = subprocess.Popen(
        ["sh", str(context / "entrypoint.sh")],
        cwd=context,
        env=_clean_env(
            PATH=f"{fresh_venv / 'bin'}:/usr/bin:/bin",
            MAINSAIL_MODEL_DIR=str(context / "model"),
            MAINSAIL_HOST="127.0.0.1",
            PORT=str(port),
            MAINSAIL_WORKERS="1",
            MAINSAIL_HOME=str(tmp_path / "home"),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("the context's entrypoint did not become ready in 60 s")
        yield url, model, X
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def test_the_docker_context_installs_and_its_entrypoint_serves(served, fresh_venv: Path) -> None:  # type: ignore[no-untyped-def]
    url, model, X = served
    rows = X.head(8)
    body = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    reply = httpx.post(f"{url}/invocations", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.json()["predictions"] == model.predict(rows).tolist()
    # the server that answered is the virtualenv's Mainsail (from the context's wheel)
    where = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", "import mainsail; print(mainsail.__file__)"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(fresh_venv))


HANDLER_CALL = """
import json, sys
import handler

class Context:
    function_name = "churn"

event = json.loads(sys.stdin.read())
print(json.dumps(handler.handler(event, Context())))
"""


def test_the_lambda_bundle_installs_and_answers_string_labels(
    fresh_venv: Path, labelled, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    mv, model, X = labelled
    bundle = tmp_path / "fn"
    build_lambda(mainsail.get_context(), mv, bundle)
    reqs = _requirements(bundle)
    assert reqs[0].startswith("./wheels/mainsail-") and all("==" in r for r in reqs[1:])
    assert any(r.startswith("mangum==") for r in reqs)
    _install(fresh_venv, bundle)
    rows = X.head(3)
    event = {
        "version": "2.0",
        "routeKey": "POST /invocations",
        "rawPath": "/invocations",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "example.com"},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/invocations",
                "sourceIp": "127.0.0.1",
                "protocol": "HTTP/1.1",
            },
            "stage": "$default",
        },
        "body": json.dumps({"dataframe_records": rows.to_dict(orient="records")}),
        "isBase64Encoded": False,
    }
    proc = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", HANDLER_CALL],
        cwd=bundle,
        input=json.dumps(event),
        env=_clean_env(MAINSAIL_HOME=str(tmp_path / "home")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"])["predictions"] == model.predict(rows).tolist()


REPACK = """
import sys
from pathlib import Path
from mainsail.packaging._pins import _source_root, mainsail_wheel
assert _source_root() is None, "an installed wheel, not a source tree"
print(mainsail_wheel(Path(sys.argv[1])))
"""


def test_an_installed_mainsail_repacks_its_own_wheel(
    served, fresh_venv: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A Mainsail installed from a wheel (no source tree) puts a repack of itself in a
    context; that wheel installs and imports."""
    python = str(fresh_venv / "bin" / "python")
    proc = subprocess.run(
        [python, "-c", REPACK, str(tmp_path / "wheels")],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = Path(proc.stdout.strip().splitlines()[-1])
    assert wheel.name.startswith("mainsail-") and wheel.suffix == ".whl"
    target = tmp_path / "target"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    check = subprocess.run(
        [python, "-c", "import mainsail.packaging._pins as p; print(p.__file__)"],
        env=_clean_env(PYTHONPATH=str(target)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0 and check.stdout.startswith(str(target)), check.stderr
