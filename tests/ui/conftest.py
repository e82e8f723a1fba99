"""The UI tests' world: one real ``mainsail server`` over real data, and a real browser.

The data is the demo's whole loop (``python -m mainsail.demo --quick``: runs, a dataset,
model versions with checks, an endpoint with rollouts, a monitor with results, an alert,
the automation's trail, pipeline runs, jobs), plus a sweep of runs with curves and
artifacts, users with each role, and a canary rollout left in progress for the steering
buttons. One server and one browser serve the whole ``tests/ui`` package.

Chromium is Debian's (``apt-get install chromium``); Playwright drives it through
``executable_path`` (``playwright install`` cannot download here).
"""

from __future__ import annotations

import io
import math
import os
import random
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest


def run_demo(workdir: Path) -> Path:
    """Run ``python -m mainsail.demo --quick`` in ``workdir``; return its Mainsail home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    proc = subprocess.run(
        [sys.executable, "-m", "mainsail.demo", "--quick"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return workdir / "demo-out" / ".mainsail"


class Api:
    """A small JSON client for one token."""

    def __init__(self, url: str, token: str | None) -> None:
        self.base = f"{url}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        with httpx.Client(timeout=30) as http:
            r = http.request(method, self.base + path, headers=headers, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def png_bytes(w: int = 48, h: int = 32) -> bytes:
    """A small gradient PNG, written by hand so the tests need no imaging library."""
    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 5 % 256, y * 8 % 256, 160)) for x in range(w))
        for y in range(h)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SWEEP = "ui-sweep"
LONG_STEPS = 20_000


def seed_sweep(url: str, token: str, tmp: Path) -> dict[str, Any]:
    """24 runs with params and loss/accuracy curves, one long series, three artifacts."""
    api = Api(url, token)
    api("POST", "/experiments", json={"name": SWEEP})
    rng = random.Random(7)
    # The sweep ran over the last hour, one run a minute (steps 0.1 s apart; the long
    # series of run 0 overlaps the next runs, as a long job would).
    t0 = int(time.time() * 1000) - 60 * 60_000
    ids: list[str] = []
    for i in range(24):
        run_id = f"uisweep{i:02d}"
        lr = [0.001, 0.01, 0.1][i % 3]
        depth = 2 + i % 6
        api(
            "POST",
            "/runs",
            json={
                "run_id": run_id,
                "experiment": SWEEP,
                "name": f"sweep-{i:02d}",
                "params": {"lr": lr, "depth": depth, "optimizer": ["adam", "sgd"][i % 2]},
                "git_commit": "0123456789abcdef0123456789abcdef01234567",
                "start_time": t0 + i * 60_000,
            },
        )
        steps = LONG_STEPS if i == 0 else 200
        rate = 0.01 + lr * 2 + depth * 0.002
        points = []
        for s in range(steps):
            loss = 2.0 * math.exp(-rate * s * (200 / steps)) + 0.05 + rng.random() * 0.02
            points.append(["loss", loss, s, t0 + i * 60_000 + s * 100])
            if s % 10 == 0:
                points.append(["accuracy", 1 - loss / 2.2, s, t0 + i * 60_000 + s * 100])
        for k in range(0, len(points), 5000):
            api("POST", f"/runs/{run_id}/metrics", json={"points": points[k : k + 5000]})
        if i == 1:  # a run that read the demo's dataset: its page and lineage show it
            api(
                "POST", f"/runs/{run_id}/inputs", json={"dataset_version_id": 1, "context": "train"}
            )
        api("POST", f"/runs/{run_id}/end", json={"status": "failed" if i == 5 else "finished"})
        ids.append(run_id)
    _artifacts(url, token, tmp)
    return {"runs": ids}


def _artifacts(url: str, token: str, tmp: Path) -> None:
    """Log a PNG, a text file and a CSV on run ``uisweep01`` through the SDK."""
    import mainsail

    files = tmp / "artifacts"
    files.mkdir(parents=True, exist_ok=True)
    (files / "confusion.png").write_bytes(png_bytes())
    (files / "notes.txt").write_text("trained on churn-live v2\nlooks good\n")
    buf = io.StringIO()
    buf.write("feature,importance\n")
    for name, v in [("tenure_months", 0.41), ("monthly_charges", 0.33), ("support_calls", 0.26)]:
        buf.write(f"{name},{v}\n")
    (files / "importance.csv").write_text(buf.getvalue())
    saved = {
        k: os.environ.get(k) for k in ("MAINSAIL_TRACKING_URI", "MAINSAIL_TOKEN", "MAINSAIL_HOME")
    }
    os.environ.update(
        {"MAINSAIL_TRACKING_URI": url, "MAINSAIL_TOKEN": token, "MAINSAIL_HOME": str(tmp / "sdk")}
    )
    mainsail.reset()
    try:
        with mainsail.start_run(experiment=SWEEP, name="with-artifacts"):
            mainsail.log_params({"lr": 0.01, "depth": 3, "optimizer": "adam"})
            mainsail.log_metric("loss", 0.5, step=0)
            for f in ("confusion.png", "notes.txt", "importance.csv"):
                mainsail.log_artifact(files / f)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        mainsail.reset()


def create_user(api: Api, name: str, role: str, project: str = "*") -> str:
    out = api("POST", "/users", json={"name": name, "role": role, "project": project})
    return str(out["token"]["token"])


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class World:
    def __init__(
        self, url: str, tokens: dict[str, str], rollout: dict[str, Any], home: Path
    ) -> None:
        self.url = url
        self.tokens = tokens
        self.rollout = rollout
        self.home = home

    def api(self, role: str = "admin") -> Api:
        return Api(self.url, self.tokens[role])


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from mainsail.server._process import ServerProcess

    tmp = tmp_path_factory.mktemp("ui")
    home = run_demo(tmp)
    with ServerProcess(home, "--bootstrap-admin", "--no-controllers") as srv:
        match = re.search(r"^ms_\S+$", srv.output(), re.M)
        assert match is not None, srv.output()
        admin = match.group(0)
        seed_sweep(srv.url, admin, tmp)
        api = Api(srv.url, admin)
        tokens = {
            "admin": admin,
            "viewer": create_user(api, "vera", "viewer"),
            "deployer": create_user(api, "dora", "deployer"),
        }
        rollout = api(
            "POST",
            "/endpoints/churn/deploy",
            json={
                "model": "models:/churn/1",
                "strategy": "canary",
                "spec": {"steps": [25, 50, 100], "interval": 3600},
                "reason": "UI test: a canary left in progress",
            },
        )
        for endpoint, strategy in (("churn-ab", "ab"), ("churn-shadow", "shadow")):
            api("POST", f"/endpoints/{endpoint}/deploy", json={"model": "models:/churn/1"})
            api(
                "POST",
                f"/endpoints/{endpoint}/deploy",
                json={"model": "models:/churn/2", "strategy": strategy},
            )
        yield World(srv.url, tokens, rollout, home)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module. Playwright's sync API keeps an asyncio loop marked as
    running in this thread while it is open; a package-scoped browser outlived its package
    (its teardown waited for the session's end), and every asyncio.run() of a later test on
    that worker failed with "cannot be called from a running event loop"."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with 'apt-get install -y chromium'.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """A browser context logged in as one role; collects console errors."""

    def __init__(self, browser: Any, world: World, role: str | None) -> None:
        self.world = world
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.expected_errors: list[str] = []
        if role is not None:
            token = world.tokens[role]
            self.context.add_init_script(
                f"if (!sessionStorage.getItem('seeded')) {{ localStorage.setItem('mainsail.token', "
                f"'{token}'); sessionStorage.setItem('seeded', '1'); }}"
            )
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def open(self, path: str) -> Any:
        self.page.goto(self.world.url + path)
        return self.page

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected_errors)]


@pytest.fixture
def session(browser: Any, world: World) -> Iterator[Any]:
    """``session(role)`` opens a logged-in browser context; no console error is allowed."""
    made: list[Session] = []

    def make(role: str | None = "admin") -> Session:
        s = Session(browser, world, role)
        made.append(s)
        return s

    yield make
    for s in made:
        errors = s.unexpected_errors()
        s.context.close()
        assert not errors, f"console errors: {errors}"
