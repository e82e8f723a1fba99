"""``mainsail ui``: the server app over an embedded context, without login, on loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from mainsail.core._errors import ConfigurationError

if TYPE_CHECKING:
    from mainsail.store._context import Context


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_ui(
    ctx: Context,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    allow_remote: bool = False,
    controllers: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the UI and the API over ``ctx`` (no login) until interrupted.

    Parameters
    ----------
    ctx : Context
        An embedded context (SQLite or PostgreSQL and an artifact folder).
    host, port : str, int
        Where to listen. Without login anyone who reaches the port is an admin, so a
        non-loopback ``host`` needs ``allow_remote=True``.
    controllers : bool
        Also run the controllers (rollouts, monitors, automations) in this process.
    on_ready : callable, optional
        Called with the UI's URL once its socket is bound (requests wait until it serves).
    """
    import uvicorn

    from mainsail.server import create_app

    if ctx.is_remote:
        raise ConfigurationError(
            "'mainsail ui' serves an embedded store (SQLite or PostgreSQL and a folder); this "
            "context points at a server. Open that server's own UI at its address instead."
        )
    if not is_loopback(host) and not allow_remote:
        raise ConfigurationError(
            f"'mainsail ui' has no login, so it binds to loopback only; got --host {host}. "
            "Pass --allow-remote to expose it anyway, or run 'mainsail server' (tokens and "
            "roles) for a team."
        )
    app = create_app(ctx, auth=False, controllers=controllers)
    # Bind first, so the URL printed is the one listening (also with port 0).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({exc.strerror}). Pick another --port (0: any "
            "free port)."
        ) from None
    sock.listen(2048)  # connections made after on_ready queue until uvicorn serves
    bound = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", server_header=False)
    server = uvicorn.Server(config)
    if on_ready is not None:
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        on_ready(f"http://{shown}:{bound}/")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
