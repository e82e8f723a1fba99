"""Running the data plane under uvicorn, with TCP_NODELAY on every accepted connection."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with Nagle off.

    With several workers uvicorn hands the listening socket to child processes, and
    accepted connections there can miss TCP_NODELAY: small keep-alive responses then
    wait ~40 ms for delayed ACKs. Setting it per connection removes the stall.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def app_factory() -> Any:
    """uvicorn factory: every worker builds its context from ``MAINSAIL_*`` settings and its
    app from ``MAINSAIL_SERVE_*`` ones (each worker process is its own composition root)."""
    from mainsail.core._settings import get_settings
    from mainsail.serving._app import create_app
    from mainsail.store._context import open_context

    return create_app(open_context(get_settings()))


def run(
    host: str = "127.0.0.1", port: int = 8080, workers: int = 1, log_level: str = "warning"
) -> None:
    import uvicorn

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mainsail-prom-")
    uvicorn.run(
        "mainsail.serving._server:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayHttpProtocol,
        log_level=log_level,
        timeout_graceful_shutdown=30,
        access_log=False,
    )
