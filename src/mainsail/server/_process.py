"""Run ``mainsail server`` as a child process on a free port (tests, demos, notebooks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from mainsail.core._errors import StoreUnavailableError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(home) as srv:`` — a real server on 127.0.0.1; ``srv.url``.

    Output (stdout and stderr) goes to ``srv.log_path``.
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        *args: str,
        env: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.home = Path(home)
        self.port = free_port()
        self.args = list(args)
        self.env = env or {}
        self.timeout_s = timeout_s
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
        env.update({"MAINSAIL_HOME": str(self.home), **self.env})
        self.home.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mainsail",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *self.args,
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.output()
                self._log.close()
                raise StoreUnavailableError(f"mainsail server exited early:\n{output}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0, verify=False).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise StoreUnavailableError(f"mainsail server did not start in time:\n{self.output()}")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
