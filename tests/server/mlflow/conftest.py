"""The real MLflow client, in its own virtualenv, against a real ``mainsail server`` process.

The venv lives under ``~/.cache/mainsail-test/mlflow-venv`` (``MAINSAIL_TEST_CACHE`` moves
it) and is created once: a stamp records the requirements, so later sessions reuse it. Its
scikit-learn is the one this interpreter has, so models pickled by the client load here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mainsail.server._process import ServerProcess

MLFLOW_VERSION = "3.17.2"
_INSTALL_TIMEOUT_S = 1200


def _cache() -> Path:
    root = os.environ.get("MAINSAIL_TEST_CACHE") or Path.home() / ".cache" / "mainsail-test"
    return Path(root)


def ensure_mlflow_venv() -> Path:
    """The python of a venv with the MLflow client, created on first use.

    An exclusive lock next to it makes parallel test workers (pytest-xdist) wait for the one
    that installs instead of installing into the same folder at once.
    """
    import fcntl

    _cache().mkdir(parents=True, exist_ok=True)
    with open(_cache() / "mlflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_mlflow_venv()


def _ensure_mlflow_venv() -> Path:
    root = _cache() / "mlflow-venv"
    python = root / "bin" / "python"
    wanted = (
        f"mlflow=={MLFLOW_VERSION}\nscikit-learn=={metadata.version('scikit-learn')}\n"
        f"numpy=={metadata.version('numpy')}\npandas=={metadata.version('pandas')}\n"
    )
    stamp = root / ".mainsail-requirements"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    cmd = [str(python), "-m", "pip", "install", "--quiet", *wanted.split()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    stamp.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    return ensure_mlflow_venv()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A real server with auth on, and its admin token."""
    home = tmp_path_factory.mktemp("mlflow-compat") / "srv"
    with ServerProcess(home, "--bootstrap-admin", "--no-controllers") as srv:
        match = re.search(r"^ms_\S+$", srv.output(), re.M)
        assert match is not None, srv.output()
        yield srv, match.group(0)


RunMlflow = Callable[..., Any]


@pytest.fixture
def run_mlflow(mlflow_python: Path, tmp_path: Path) -> RunMlflow:
    """Run a script under the MLflow venv; it prints one JSON document, which is returned.

    ``env`` adds variables (``MLFLOW_TRACKING_URI``, ``MLFLOW_TRACKING_TOKEN``); the client
    never retries, so a server error fails fast.
    """

    def run(script: str, env: dict[str, str], check: bool = True) -> Any:
        path = tmp_path / "mlflow_script.py"
        path.write_text(textwrap.dedent(script))
        full = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "PYTHON"))}
        full.update({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "GIT_PYTHON_REFRESH": "quiet", **env})
        proc = subprocess.run(
            [str(mlflow_python), str(path)],
            cwd=tmp_path,
            env=full,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"the MLflow script failed:\n{proc.stdout}\n{proc.stderr}")
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        return json.loads(lines[-1]) if lines else {"stderr": proc.stderr}

    return run
