"""ASGI middleware: request size limits, and the ``predict`` scope for inference routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import PayloadTooLargeError

if TYPE_CHECKING:
    from mainsail.server._app import ServerState

Scope = dict[str, Any]


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class _TooLarge(PayloadTooLargeError):
    """Raised from ``receive`` mid-stream; routes render it (413) and audit it."""


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` (413); ``streaming_paths`` have their own limits."""

    def __init__(self, app: Any, max_bytes: int, streaming_paths: dict[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streaming_paths = streaming_paths

    def _limit(self, path: str) -> int:
        for prefix, limit in self.streaming_paths.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    size = -1
                if size > limit or size < 0:
                    await _send_json(send, 413, _too_large(limit, size))
                    return
        seen = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(str(_too_large(limit, seen)["error"]))
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, _too_large(limit, seen))


def _too_large(limit: int, size: int) -> dict[str, Any]:
    return {
        "error": f"Request bodies on this route are limited to {limit} bytes; got "
        + (f"{size} bytes" if size >= 0 else "an invalid Content-Length")
        + ". Send metrics in smaller batches, or raise the server's --max-request-mb.",
        "type": "PayloadTooLargeError",
        "headline": "Request too large",
    }


class PredictScope:
    """Wrap the inference app: health and metadata are open, inference needs ``predict``."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _is_inference(scope["path"]):
            from starlette.concurrency import run_in_threadpool

            token = None
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    text = value.decode("latin-1")
                    if text.lower().startswith("bearer "):
                        token = text[7:].strip()
            principal = (
                await run_in_threadpool(self.state.authenticator.authenticate, token)
                if token
                else None
            )
            if principal is None:
                await _send_json(
                    send,
                    401,
                    {
                        "error": "Inference needs a bearer token with the 'predict' scope.",
                        "type": "AuthenticationError",
                    },
                )
                return
            if "predict" not in principal.scopes:
                await _send_json(
                    send,
                    403,
                    {
                        "error": "This token lacks the 'predict' scope. "
                        "Create one with 'mainsail tokens create USER --scope predict'.",
                        "type": "PermissionDeniedError",
                    },
                )
                return
        await self.app(scope, receive, send)


def _is_inference(path: str) -> bool:
    # explanations read the same model and (by request id) the prediction log
    return (
        path.endswith(("/infer", "/explain"))
        or path.startswith("/invocations")
        or path.startswith("/v1/explanations/")
    )
