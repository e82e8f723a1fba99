"""Serving smoke test: the real inference server loads the version and answers requests.

Starts ``python -m mainsail serve <address>`` on 127.0.0.1 (a free port, the same store
as this process), waits for ``/v2/health/ready``, sends sample rows of the check data to
``/invocations`` and compares the answers with in-process predictions. Everything is
bounded by ``timeout_s``; the server is stopped (SIGTERM, then killed) in every case.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from mainsail.checks._policy import SmokePolicy
from mainsail.checks._types import CheckContext, CheckOutcome


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(context: CheckContext) -> dict[str, str]:
    settings = context.ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_SERVE_")}
    env["MAINSAIL_HOME"] = str(settings.resolved_home())
    env["MAINSAIL_DATABASE_URL"] = settings.resolved_database_url()
    env["MAINSAIL_ARTIFACT_ROOT"] = settings.resolved_artifact_root()
    if settings.encryption_key is not None:
        env["MAINSAIL_ENCRYPTION_KEY"] = settings.encryption_key.get_secret_value()
    if settings.require_encryption:
        env["MAINSAIL_REQUIRE_ENCRYPTION"] = "true"
    return env


def _get(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _post(url: str, body: bytes, timeout: float) -> tuple[int, Any]:
    req = urllib.request.Request(url, body, {"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            return int(exc.code), json.loads(text)
        except ValueError:
            return int(exc.code), text


def _same(served: list[Any], local: np.ndarray) -> bool:
    got = np.asarray(served)
    if got.shape[0] != local.shape[0]:
        return False
    if local.dtype.kind in "fiu" and got.dtype.kind in "fiu":
        return bool(np.allclose(got.astype(float), local.astype(float), rtol=1e-6, atol=1e-9))
    return [str(v) for v in got.tolist()] == [str(v) for v in local.tolist()]


class SmokeCheck:
    """The version loads in ``mainsail serve`` and answers sample requests correctly."""

    name = "smoke"
    config_model = SmokePolicy
    order = 100

    def __init__(self, config: SmokePolicy) -> None:
        self.config = config

    def _fail(self, detail: str, data: dict[str, Any]) -> list[CheckOutcome]:
        return [
            CheckOutcome(
                name="smoke", kind="smoke", status="fail", threshold=0, detail=detail, data=data
            )
        ]

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config
        address = context.version.address
        port = _free_port()
        log = tempfile.NamedTemporaryFile(prefix="mainsail-smoke-", suffix=".log", delete=False)  # noqa: SIM115 - closed in finally
        cmd = [
            sys.executable,
            "-m",
            "mainsail",
            "serve",
            address,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-log",
        ]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=_server_env(context), stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        data: dict[str, Any] = {"command": " ".join(cmd[1:]), "port": port}

        def output() -> str:
            log.flush()
            with open(log.name, errors="replace") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
            return " | ".join(lines[-6:])[-1200:]

        try:
            deadline = start + cfg.timeout_s
            ready = False
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return self._fail(
                        f"the server exited (code {proc.returncode}) before it was ready: "
                        f"{output() or 'no output'}",
                        data,
                    )
                try:
                    if _get(f"{base}/v2/health/ready", timeout=1.0) == 200:
                        ready = True
                        break
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.1)
            if not ready:
                return self._fail(
                    f"the server was not ready within {cfg.timeout_s:g} s: {output() or 'no output'}",
                    data,
                )
            data["ready_s"] = round(time.monotonic() - start, 3)
            names = context.model.signature.input_names
            rows = context.X[names].head(cfg.rows).reset_index(drop=True)
            body = json.dumps(
                {
                    "dataframe_split": json.loads(
                        rows.to_json(orient="split", index=False, date_format="iso")
                    )
                }
            ).encode()
            remaining = max(1.0, deadline - time.monotonic())
            try:
                t = time.perf_counter()
                status, payload = _post(f"{base}/invocations", body, timeout=remaining)
                data["request_ms"] = round((time.perf_counter() - t) * 1000, 2)
            except (urllib.error.URLError, OSError) as exc:
                return self._fail(f"the request to /invocations failed: {exc}", data)
            data["status"] = status
            if status != 200:
                msg = payload.get("error", payload) if isinstance(payload, dict) else payload
                return self._fail(
                    f"the server loaded the model but could not predict {len(rows)} sample rows: "
                    f"HTTP {status}: {str(msg)[:400]}",
                    data,
                )
            preds = payload.get("predictions") if isinstance(payload, dict) else None
            local = np.asarray(context.model.predict(rows))
            if preds is None or not _same(preds, local):
                return self._fail(
                    f"the server answered, but its predictions differ from in-process ones "
                    f"(served {str(preds)[:200]}, expected {local[:5].tolist()})",
                    data,
                )
            return [
                CheckOutcome(
                    name="smoke",
                    kind="smoke",
                    status="pass",
                    value=data["ready_s"],
                    threshold=0,
                    detail=f"served {address}: ready in {data['ready_s']:.1f} s, {len(rows)} rows "
                    f"answered in {data['request_ms']:.0f} ms, matching in-process predictions",
                    data=data,
                )
            ]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
            os.unlink(log.name)
