"""``mainsail ui``: the UI and the API over this machine's home, no login, loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mainsail.server._process import free_port


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    env["MAINSAIL_HOME"] = str(home)
    return env


def test_mainsail_ui_serves_the_ui_and_the_api_without_login(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "ui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mainsail", "ui", "--port", str(port)],
            env=_env(tmp_path / "home"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while f"Mainsail UI at http://127.0.0.1:{port}/" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        page = httpx.get(f"{base}/runs")
        assert page.status_code == 200 and 'content="off"' in page.text  # no login page
        me = httpx.get(f"{base}/api/v1/whoami").json()
        assert me["name"] == "anonymous" and me["auth"] is False
        table = httpx.get(f"{base}/api/v1/run-table").json()
        assert table["total"] == 0 and table["rows"] == []
    finally:
        proc.terminate()
        proc.wait(10)


def test_mainsail_ui_refuses_a_non_loopback_address_without_allow_remote(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mainsail", "ui", "--host", "0.0.0.0", "--port", str(free_port())],
        env=_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert "binds to loopback only" in out and "--allow-remote" in out
