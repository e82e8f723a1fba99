"""Pieces of the closed-loop demo: the server process, the traffic, the background workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mainsail.demo._flows import LABEL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``mainsail serve --endpoint NAME`` as a real process on 127.0.0.1."""

    def __init__(self, endpoint: str, home: Path, log: Path) -> None:
        self.endpoint = endpoint
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        env = {
            **os.environ,
            "MAINSAIL_HOME": str(home),
            "MAINSAIL_SERVE_LOG_FLUSH_INTERVAL": "1",
            "MAINSAIL_SERVE_STATS_FLUSH_S": "1",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mainsail",
                "serve",
                "--endpoint",
                endpoint,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--poll",
                "0.5",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited early; see {self._log.name}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the server was not ready after {timeout:.0f} s; see {self._log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


class Traffic:
    """Clients calling the endpoint with batches of rows and, later, sending the labels."""

    def __init__(self, server: Server, rows_per_request: int = 10) -> None:
        import httpx

        self.server = server
        self.rows = rows_per_request
        self.client = httpx.Client(base_url=server.url, timeout=30)
        self.sent = 0
        self.failed = 0
        self.variants: dict[str, int] = {}

    def send(self, frame: pd.DataFrame, seconds: float | None = None, labels: bool = True) -> int:
        """Send ``frame`` in batches (for at most ``seconds``); post labels for each answer."""
        X = frame.drop(columns=[LABEL])
        y = frame[LABEL].to_numpy()
        deadline = time.monotonic() + seconds if seconds else None
        feedback: list[dict[str, Any]] = []
        n = 0
        for start in range(0, len(X), self.rows):
            if deadline is not None and time.monotonic() > deadline:
                break
            part = X.iloc[start : start + self.rows]
            body = {"dataframe_split": {"columns": list(part.columns), "data": _records(part)}}
            r = self.client.post(
                "/invocations",
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
            )
            self.sent += 1
            n += 1
            if r.status_code != 200:
                self.failed += 1
                continue
            variant = r.headers.get("x-mainsail-variant", "stable")
            self.variants[variant] = self.variants.get(variant, 0) + 1
            feedback.append(
                {
                    "request_id": r.headers["x-request-id"],
                    "label": [int(v) for v in y[start : start + self.rows]],
                }
            )
            if labels and len(feedback) >= 20:
                self._feedback(feedback)
                feedback = []
        if labels and feedback:
            self._feedback(feedback)
        return n

    def _feedback(self, records: list[dict[str, Any]]) -> None:
        self.client.post(
            f"/v2/models/{self.server.endpoint}/feedback",
            content=orjson.dumps({"records": records}),
            headers={"content-type": "application/json"},
        )

    def close(self) -> None:
        self.client.close()


def _records(part: pd.DataFrame) -> list[list[Any]]:
    out = []
    for row in part.itertuples(index=False):
        out.append([v.item() if isinstance(v, np.generic) else v for v in row])
    return out


class Background:
    """The controllers (leader) and one job worker, in threads of this process."""

    def __init__(self) -> None:
        from mainsail.client import get_context
        from mainsail.controllers import ControllerManager
        from mainsail.jobs import Worker

        ctx = get_context()
        self.manager = ControllerManager(
            ctx, names=["rollouts", "monitors", "automations"], poll_s=0.25
        )
        self.worker = Worker(ctx, queues=["default"], poll_s=0.25)
        self._thread = threading.Thread(target=self._work, name="demo-worker", daemon=True)
        self._stop = threading.Event()

    def _work(self) -> None:
        while not self._stop.is_set():
            self.worker.run(max_jobs=1, until_idle=True)
            self._stop.wait(0.25)

    def start(self) -> Background:
        self.manager.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.manager.stop()
        self._thread.join(120)
