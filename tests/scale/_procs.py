"""Real processes for the fleet: S3 (moto), mainsail server/serve replicas, HAProxy.

Each is started the way an operator starts it (the ``mainsail`` CLI, ``haproxy -f``), logs
to its own file, and is waited for by polling its health route with a finite deadline.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mainsail.server._process import free_port

PY = [sys.executable, "-m"]


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - a probe of a process that is starting
            last = exc
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class Proc:
    """One child process with its own log file; stopped by SIGTERM, killed by SIGKILL."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], logs: Path, port: int | None = None
    ) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.port = port
        self.log_path = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Proc:
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed on exit
        log.write(f"\n--- start {self.starts} at {time.time():.3f}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.wait_exit(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, path: str, timeout: float) -> None:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited early:\n{self.output()[-3000:]}")
            return http_ok(self.url + path)

        wait_for(ready, timeout, f"{self.name} to answer {path}", every=0.2)


def moto(env: dict[str, str], logs: Path) -> Proc:
    port = free_port()
    return Proc("s3", [*PY, "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, logs, port)


def server(env: dict[str, str], logs: Path, index: int) -> Proc:
    port = free_port()
    args = [*PY, "mainsail", "server", "--host", "127.0.0.1", "--port", str(port)]
    return Proc(f"server{index}", [*args, "--log-level", "info"], env, logs, port)


def serve(env: dict[str, str], logs: Path, endpoint: str, index: int) -> Proc:
    port = free_port()
    args = [*PY, "mainsail", "serve", "--endpoint", endpoint, "--host", "127.0.0.1"]
    return Proc(f"serve{index}", [*args, "--port", str(port)], env, logs, port)


def cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run ``mainsail ARGS`` as an operator would; its stdout, or a failure with its output."""
    done = subprocess.run(
        [*PY, "mainsail", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"mainsail {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def token_in(text: str) -> str:
    found = re.findall(r"\bms_[A-Za-z0-9_-]{20,}", text)
    assert found, f"no token in:\n{text}"
    return found[-1]


class HAProxy:
    """``haproxy -db -f CFG`` with an admin socket: read server states, stop by SIGUSR1."""

    def __init__(self, config: str, folder: Path, logs: Path, env: dict[str, str]) -> None:
        self.cfg = folder / "haproxy.cfg"
        self.cfg.write_text(config)
        self.socket = str(folder / "haproxy.sock")
        self.proc = Proc("haproxy", ["haproxy", "-db", "-f", str(self.cfg)], env, logs)

    def start(self) -> HAProxy:
        check = subprocess.run(["haproxy", "-c", "-f", str(self.cfg)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.proc.start()
        wait_for(lambda: os.path.exists(self.socket), 20, "the HAProxy admin socket")
        return self

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while data := s.recv(65536):
                chunks.append(data)
        return b"".join(chunks).decode()

    def states(self, backend: str) -> dict[str, str]:
        """Server name -> status (UP, DOWN, MAINT, ...) in one backend."""
        rows = self.command("show stat").splitlines()
        head = rows[0].lstrip("# ").split(",")
        out = {}
        for row in rows[1:]:
            cols = dict(zip(head, row.split(","), strict=False))
            if cols.get("pxname") == f"be_{backend}" and cols.get("svname") not in (
                "FRONTEND",
                "BACKEND",
            ):
                out[cols["svname"]] = cols["status"]
        return out

    def wait_up(self, backend: str, count: int, timeout: float) -> None:
        wait_for(
            lambda: sum(s.startswith("UP") for s in self.states(backend).values()) >= count,
            timeout,
            f"{count} servers UP in {backend}",
            every=0.2,
        )

    def stop(self) -> None:
        self.proc.stop(10)
