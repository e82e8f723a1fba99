"""The rollout state machine: analysis verdicts, webhooks, stale writers, restarts."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

import mainsail
from mainsail.rollout import RolloutController
from mainsail.serving._variant_stats import VariantStats
from mainsail.store import _tables as t

from .conftest import wait_for

SPEC = {"steps": [10, 50], "interval": 60, "min_requests": 5, "max_p99_ms": 100, "threshold": 2}


def traffic(
    ctx: Any, variant: str, version: str, n: int = 20, status: int = 200, ms: float = 5.0
) -> None:  # type: ignore[no-untyped-def]
    """Serving stats as a data-plane replica writes them, in the current step's window."""
    r = mainsail.get_rollout("churn")
    at = (r.next_at or 0) / 1000 - 1 if r is not None and r.next_at else time.time()
    stats = VariantStats(
        "churn", ctx.store.write_serving_stats, window_s=1, replica=variant, clock=lambda: at
    )
    for i in range(n):
        stats.record(variant, version, status, ms, np.array([i % 2]))
    stats.flush()


def due(ctx: Any) -> int:
    r = mainsail.get_rollout("churn")
    assert r is not None and r.next_at is not None
    return r.next_at


def test_canary_steps_on_passing_analyses(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    ctl = RolloutController(ctx)
    r = mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=SPEC)
    assert (r.state, r.step, r.weight, r.from_revision, r.to_revision) == (
        "progressing",
        0,
        10,
        1,
        2,
    )
    ctl.tick(due(ctx) - 1)  # not due yet: nothing happens
    assert mainsail.get_rollout("churn").step == 0  # type: ignore[union-attr]
    traffic(ctx, "stable", "1")
    traffic(ctx, "canary", "2")
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and (r.step, r.weight) == (1, 50)
    assert [(v.name, v.weight) for v in mainsail.get_endpoint("churn").variants] == [
        ("stable", 50),
        ("canary", 50),
    ]
    traffic(ctx, "canary", "2")  # step 1's own traffic
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "promoted" and r.weight == 100
    assert [a["outcome"] for a in r.analysis] == ["advance", "promote"]
    checks = r.analysis[0]["checks"]
    assert {c["name"]: c["status"] for c in checks} == {
        "success_rate": "pass",
        "p99_latency_ms": "pass",
    }
    assert checks[0]["samples"] == 20
    ep = mainsail.get_endpoint("churn")
    assert ep.revision == 4 and [(v.version, v.role) for v in ep.variants] == [(2, "stable")]


def test_too_few_requests_hold_the_step(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    ctl = RolloutController(ctx)
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=SPEC)
    traffic(ctx, "canary", "2", n=3)
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "progressing" and r.step == 0 and r.failed_checks == 0
    assert r.analysis[-1]["outcome"] == "hold"
    assert {c["status"] for c in r.analysis[-1]["checks"]} == {"inconclusive"}
    assert "waiting for data" in (r.message or "")


def test_evidence_accumulates_over_a_held_step(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 item 8: steady light traffic adds up over the step instead of resetting."""
    ctl = RolloutController(ctx)
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=SPEC)
    for seen in (2, 4):
        traffic(ctx, "canary", "2", n=2)  # 2 requests per interval; 5 are needed
        ctl.tick(due(ctx))
        r = mainsail.get_rollout("churn")
        assert r is not None and r.step == 0 and r.analysis[-1]["outcome"] == "hold"
        assert r.analysis[-1]["checks"][0]["samples"] == seen
    traffic(ctx, "canary", "2", n=2)
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and (r.step, r.weight) == (1, 50), r.message
    assert r.analysis[-1]["checks"][0]["samples"] == 6
    traffic(ctx, "canary", "2", n=2)  # step 1 starts from its own traffic, not step 0's
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.analysis[-1]["outcome"] == "hold"
    assert r.analysis[-1]["checks"][0]["samples"] == 2


def test_blue_green_does_not_switch_on_no_evidence(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 16: an inconclusive pre-promotion analysis holds the preview."""
    ctl = RolloutController(ctx)
    spec = {"interval": 60, "min_requests": 5}
    mainsail.deploy("churn", "models:/churn/2", strategy="blue_green", spec=spec)
    traffic(ctx, "stable", "1")  # clients keep using stable; the preview saw nothing
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and (r.state, r.step, r.weight) == ("progressing", 0, 0), r.message
    assert r.analysis[-1]["outcome"] == "hold"
    checks = {c["name"]: c for c in r.analysis[-1]["checks"]}
    assert checks["success_rate"]["status"] == "inconclusive"
    assert checks["smoke_requests"]["status"] == "inconclusive"
    assert "set smoke_url" in checks["smoke_requests"]["message"]
    assert [v.role for v in mainsail.get_endpoint("churn").variants] == ["stable", "preview"]


class Plane:
    """A data plane's answers to smoke requests, as ``mode`` says: the preview answers, it is
    not loaded yet (stable answers), or it fails (5xx from the preview)."""

    def __init__(self) -> None:
        self.mode = "stable"
        self.requests: list[dict[str, Any]] = []
        plane = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
                plane.requests.append({"path": self.path, "body": body,
                                       "variant": self.headers.get("x-mainsail-variant")})  # fmt: skip
                status = 500 if plane.mode == "error" else 200
                self.send_response(status)
                by = "stable" if plane.mode == "stable" else "preview"
                self.send_header("x-mainsail-variant", by)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_smoke_requests_wait_for_the_preview_and_a_5xx_fails(two_versions, ctx, cli) -> None:  # type: ignore[no-untyped-def]
    plane = Plane()
    try:
        ctl = RolloutController(ctx, smoke_url=plane.url)  # what a single-node server passes
        spec = {"interval": 60, "min_requests": 3, "threshold": 1}
        mainsail.deploy("churn", "models:/churn/2", strategy="blue_green", spec=spec)
        start = due(ctx) - 60_000
        ctl.tick(start + 100)  # the plane has not loaded the preview: nothing is recorded
        r = mainsail.get_rollout("churn")
        assert r is not None and r.analysis == [] and len(plane.requests) == 3
        sent = plane.requests[0]
        assert sent["path"] == "/v2/models/churn/infer" and sent["variant"] == "preview"
        assert [i["name"] for i in sent["body"]["inputs"]] == [f"f{i}" for i in range(20)]
        plane.mode = "preview"
        ctl.tick(start + 1500)  # within the retry pause: not sent again
        assert len(plane.requests) == 3
        ctl.tick(start + 2200)
        r = mainsail.get_rollout("churn")
        assert r is not None and r.analysis[-1]["outcome"] == "smoke"
        assert r.analysis[-1]["smoke"]["answered"] == r.analysis[-1]["smoke"]["sent"] == 3
        ctl.tick(start + 5000)  # done for this window: no more smoke
        assert len(plane.requests) == 6
        code, out, _ = cli("rollout", "status", "churn")
        assert code == 0 and "Smoke requests at step 0: 3 of 3 answered" in " ".join(out.split())
        traffic(ctx, "preview", "2", n=3)  # what the plane counted for the preview
        ctl.tick(due(ctx))
        r = mainsail.get_rollout("churn")
        assert r is not None and (r.step, r.weight) == (1, 100), r.message
        # a preview that answers smoke requests with 5xx fails its analysis
        mainsail.rollback("churn")
        mainsail.deploy("churn", "models:/churn/3", strategy="blue_green", spec=spec)
        plane.mode = "error"
        start = due(ctx) - 60_000
        ctl.tick(start + 100)
        traffic(ctx, "preview", "3", n=3)
        ctl.tick(due(ctx))
        r = mainsail.get_rollout("churn")
        assert r is not None and r.state == "rolled_back", r.message
        assert "smoke_requests" in (r.message or "")
    finally:
        plane.close()


def test_failed_analyses_roll_back_and_alert(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    ctl = RolloutController(ctx)
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=SPEC)
    traffic(ctx, "canary", "2", ms=400.0)
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "progressing" and r.failed_checks == 1
    traffic(ctx, "canary", "2", ms=400.0)
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "rolled_back" and r.failed_checks == 2
    assert "p99_latency_ms" in (r.message or "")
    assert [(v.version, v.weight) for v in mainsail.get_endpoint("churn").variants] == [(1, 100)]
    with ctx.store.db.read() as conn:
        alert = conn.execute(sa.select(t.alerts)).one()
    assert alert.fingerprint == "rollout:churn" and alert.evidence["rollout"] == r.id
    # a later successful rollout resolves it
    mainsail.deploy("churn", "models:/churn/3", strategy="canary", spec={**SPEC, "steps": [50]})
    traffic(ctx, "canary", "3")
    ctl.tick(due(ctx))
    assert mainsail.get_rollout("churn").state == "promoted"  # type: ignore[union-attr]
    with ctx.store.db.read() as conn:
        assert conn.execute(sa.select(t.alerts.c.state)).scalar_one() == "resolved"


def test_a_stale_writer_changes_nothing(two_versions, ctx) -> None:  # type: ignore[no-untyped-def]
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=SPEC)
    stale = ctx.store.get_rollout_record("churn")
    mainsail.pause("churn")
    traffic(ctx, "canary", "2")
    RolloutController(ctx).advance({**stale, "next_at": 0}, stale["next_at"])
    assert mainsail.get_rollout("churn").state == "paused"  # type: ignore[union-attr]
    assert mainsail.get_endpoint("churn").revision == 2  # no revision from the stale write
    r = mainsail.resume("churn")
    assert r.state == "progressing"


class Hooks:
    """A local webhook receiver whose answer code per hook type can be changed."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.calls: list[dict[str, Any]] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
                hooks.calls.append(body)
                self.send_response(hooks.codes.get(body["type"], 200))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    yield h
    h.close()


@pytest.mark.usefixtures("loopback_webhooks")
def test_webhooks_gate_like_flagger(two_versions, ctx, hooks) -> None:  # type: ignore[no-untyped-def]
    ctl = RolloutController(ctx)
    spec = {**SPEC, "steps": [50], "threshold": 3}
    spec["webhooks"] = {k: hooks.url for k in ("pre-rollout", "confirm-promotion", "post-rollout")}
    hooks.codes["pre_rollout"] = 500
    r = mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=spec)
    assert r.state == "pending" and r.failed_checks == 1 and "Pre-rollout" in (r.message or "")
    assert mainsail.get_endpoint("churn").revision == 1  # no traffic moved
    hooks.codes["pre_rollout"] = 200
    ctl.tick(0)
    assert mainsail.get_rollout("churn").state == "progressing"  # type: ignore[union-attr]
    traffic(ctx, "canary", "2")
    hooks.codes["confirm_promotion"] = 403
    ctl.tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "progressing" and r.failed_checks == 1  # held, not failed
    assert "confirmed" in (r.message or "")
    traffic(ctx, "canary", "2")
    hooks.codes["confirm_promotion"] = 200
    ctl.tick(due(ctx))
    assert mainsail.get_rollout("churn").state == "promoted"  # type: ignore[union-attr]
    kinds = [c["type"] for c in hooks.calls]
    assert kinds == [
        "pre_rollout",
        "pre_rollout",
        "confirm_promotion",
        "confirm_promotion",
        "post_rollout",
    ]
    assert hooks.calls[-1]["outcome"] == "promoted" and hooks.calls[-1]["name"] == "churn"
    assert hooks.calls[-1]["metadata"]["target"] == "models:/churn/2"


@pytest.mark.usefixtures("loopback_webhooks")
def test_a_2xx_rollback_webhook_rolls_back(two_versions, ctx, hooks) -> None:  # type: ignore[no-untyped-def]
    mainsail.deploy(
        "churn", "models:/churn/2", strategy="canary", spec={**SPEC, "rollback": hooks.url}
    )
    RolloutController(ctx).tick(due(ctx))
    r = mainsail.get_rollout("churn")
    assert r is not None and r.state == "rolled_back" and "webhook" in (r.message or "")


def test_a_restarted_controller_resumes(two_versions, ctx, home) -> None:  # type: ignore[no-untyped-def]
    spec = {"steps": [10, 40, 70, 100], "interval": 1, "min_success_rate": None}
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=spec)
    env = {**os.environ, "MAINSAIL_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "mainsail",
        "controllers",
        "run",
        "--only",
        "rollouts",
        "--poll",
        "0.2",
    ]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
        )

    proc = start()
    try:
        wait_for(lambda: mainsail.get_rollout("churn").step >= 1, 60)  # type: ignore[union-attr]
        proc.send_signal(signal.SIGKILL)  # no goodbye: the leader lock dies with the process
        proc.wait(10)
        r = mainsail.get_rollout("churn")
        assert r is not None and r.state == "progressing"
        stopped_at = r.step
        time.sleep(1.5)
        assert mainsail.get_rollout("churn").step == stopped_at  # type: ignore[union-attr]
        proc = start()
        done = wait_for(
            lambda: (r := mainsail.get_rollout("churn")) and r.state == "promoted" and r, 60
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    assert [a["weight"] for a in done.analysis] == [10, 40, 70, 100]
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [2]
