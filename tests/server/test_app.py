"""The app itself: health, OpenAPI, limits, CORS, controllers in the lifespan, inference, TLS."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.controllers import CONTROLLERS, register_controller
from mainsail.security import issue_token
from mainsail.server import create_app, mount_inference
from mainsail.server._process import ServerProcess


def test_health_and_openapi(server_ctx: Context) -> None:
    with TestClient(create_app(server_ctx)) as c:
        assert c.get("/api/v1/health/live").json()["status"] == "ok"
        ready = c.get("/api/v1/health/ready").json()
        assert ready["status"] == "ok" and ready["schema_revision"]
        assert c.get("/readyz").status_code == 200
        spec = c.get("/api/v1/openapi.json").json()
        for path in (
            "/api/v1/runs",
            "/api/v1/runs/{run_id}/metrics",
            "/api/v1/artifacts",
            "/api/v1/models/{name}/aliases/{alias}",
            "/api/v1/tokens",
            "/api/v1/audit",
        ):
            assert path in spec["paths"]


def test_request_size_limits(server_ctx: Context, tokens: dict[str, str]) -> None:
    app = create_app(server_ctx, max_request_mb=0.01, max_upload_mb=0.05)
    with TestClient(app, headers={"Authorization": f"Bearer {tokens['admin']}"}) as c:
        big = {"points": [["m", 1.0, i, i] for i in range(2000)]}
        resp = c.post("/api/v1/runs/x/metrics", json=big)
        assert resp.status_code == 413 and "smaller batches" in resp.json()["error"]
        assert c.post("/api/v1/artifacts", content=b"x" * 40_000).status_code == 201
        assert c.post("/api/v1/artifacts", content=b"x" * 60_000).status_code == 413

        def chunks() -> Any:  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b"y" * 10_000

        assert c.post("/api/v1/artifacts", content=chunks()).status_code == 413
        ev = server_ctx.store.list_audit_events(action="artifacts.upload")[0]
        assert ev.status == 413  # refused uploads are audited with their real status
    assert server_ctx.artifacts.size  # the store is still usable


def test_cors_is_off_by_default(server_ctx: Context) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(server_ctx)) as c:
        resp = c.options("/api/v1/experiments", headers=pre)
        assert "access-control-allow-origin" not in resp.headers
    app = create_app(server_ctx, cors_origins=["https://ui.example"])
    with TestClient(app) as c:
        ok = c.options("/api/v1/experiments", headers={**pre, "Origin": "https://ui.example"})
        assert ok.headers["access-control-allow-origin"] == "https://ui.example"
        bad = c.options("/api/v1/experiments", headers=pre)
        assert "access-control-allow-origin" not in bad.headers


class _Counter:
    name = "counter"
    interval_s = 0.05
    ticks = 0

    def tick(self, now_ms: int) -> None:
        _Counter.ticks += 1


def test_lifespan_starts_and_stops_controllers(
    server_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_controller("missing", "mainsail.no_such_module:Thing")
    register_controller("counter", lambda ctx: _Counter())
    try:
        app = create_app(server_ctx, controllers=["counter", "missing"])
        with TestClient(app) as c:
            deadline = time.monotonic() + 20
            while _Counter.ticks < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _Counter.ticks >= 2
            assert c.get("/api/v1/health/ready").json()["controllers"]["leader"] is True
            mgr = app.state.mainsail.controllers
            assert [x.name for x in mgr.controllers()] == ["counter"]  # 'missing' skipped
        assert app.state.mainsail.controllers is None  # stopped on shutdown
    finally:
        CONTROLLERS.unregister("counter")
        CONTROLLERS.unregister("missing")


async def _inference(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"predicted"})


def test_inference_routes_need_the_predict_scope(
    server_ctx: Context, tokens: dict[str, str]
) -> None:
    app = create_app(server_ctx)
    mount_inference(app, _inference)
    predict = issue_token(server_ctx.store, "viewer-user", ["predict"]).token
    with TestClient(app) as c:
        url = "/v2/models/churn/infer"
        assert c.post(url).status_code == 401
        assert (
            c.post(url, headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 403
        )
        ok = c.post(url, headers={"Authorization": f"Bearer {predict}"})
        assert ok.status_code == 200 and ok.content == b"predicted"
        assert c.get("/v2/health/ready").status_code == 200  # health stays open
        assert c.get("/api/v1/health/live").status_code == 200  # the API still wins


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    srv = ServerProcess(
        tmp_path / "srv", "--no-controllers", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
    )
    srv.url = srv.url.replace("http://", "https://")
    with srv:
        trust = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"{srv.url}/healthz", verify=trust).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{srv.url}/healthz")  # not trusted without the certificate
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(srv.url.replace("https://", "http://") + "/healthz")
