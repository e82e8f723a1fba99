"""A bounded, paced load through the load balancer; every reply is kept for the checks.

Each thread holds one keep-alive connection and sends one-row ``/invocations`` requests
with its own ``x-request-id``, so every answered request can be found again in the
prediction log. The load stops by itself after ``max_s`` seconds or ``max_requests``.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class Reply:
    t: float  # time.time() when sent
    rid: str
    status: int  # 0: no HTTP answer (connection error)
    version: str
    variant: str
    error: str = ""


class Load:
    def __init__(
        self,
        port: int,
        rows: list[list[float]],
        columns: list[str],
        threads: int = 3,
        pause_s: float = 0.02,
        max_s: float = 600.0,
        max_requests: int = 200_000,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.host = host
        self.rows = rows
        self.columns = columns
        self.threads = threads
        self.pause_s = pause_s
        self.max_s = max_s
        self.max_requests = max_requests
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._count = itertools.count()

    def __enter__(self) -> Load:
        self._deadline = time.monotonic() + self.max_s
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(30)

    def _conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def _run(self, index: int) -> None:
        conn = self._conn()
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            n = next(self._count)
            if n >= self.max_requests:
                break
            row = self.rows[n % len(self.rows)]
            body = orjson.dumps({"dataframe_split": {"columns": self.columns, "data": [row]}})
            rid = f"load-{uuid.uuid4().hex}"
            sent = time.time()
            try:
                conn.request(
                    "POST",
                    "/invocations",
                    body,
                    {"content-type": "application/json", "x-request-id": rid},
                )
                resp = conn.getresponse()
                resp.read()
                reply = Reply(
                    sent,
                    rid,
                    resp.status,
                    resp.getheader("x-mainsail-model-version") or "",
                    resp.getheader("x-mainsail-variant") or "",
                )
            except Exception as exc:  # noqa: BLE001 - counted as a failed request
                reply = Reply(sent, rid, 0, "", "", f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = self._conn()
            with self._lock:
                self.replies.append(reply)
            if self.pause_s:
                self._stop.wait(self.pause_s)
        conn.close()

    # -- views ------------------------------------------------------------------------------
    def mark(self) -> int:
        with self._lock:
            return len(self.replies)

    def since(self, mark: int) -> list[Reply]:
        with self._lock:
            return list(self.replies[mark:])

    def failures(self, mark: int = 0) -> list[Reply]:
        return [r for r in self.since(mark) if r.status != 200]

    def wait_more(self, n: int, timeout: float) -> None:
        start = self.mark()
        deadline = time.monotonic() + timeout
        while self.mark() - start < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.mark() - start >= n, f"the load made only {self.mark() - start} requests"
