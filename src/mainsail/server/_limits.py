"""ASGI middleware: request size limits, and the ``predict``/``feedback`` scopes for the data plane."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import PayloadTooLargeError
from mainsail.security._roles import Principal

if TYPE_CHECKING:
    from mainsail.server._app import ServerState

Scope = dict[str, Any]
log = logging.getLogger("mainsail.server")


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
    """Wrap the inference app: health and metadata are open; inference needs a token with
    the ``predict`` scope, feedback one with ``predict`` or ``feedback``, and either one a
    role on the endpoint's project (a token of a user bound to ``fraud-*`` cannot call
    ``churn``). Every feedback call is audited (``endpoints.feedback``), allowed or not:
    labels feed performance figures, alerts and the performance trigger.
    """

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if _is_feedback(path):
            await self._feedback(scope, receive, send)
            return
        if _is_inference(path):
            refused = await self._refused(scope, ("predict",), "Inference")
            if refused is not None:
                await _send_json(send, *refused)
                return
        await self.app(scope, receive, send)

    def _endpoint(self) -> str | None:
        plane = getattr(getattr(self.app, "state", None), "plane", None)
        if plane is None:
            return None
        name = getattr(plane.settings, "endpoint", None) or plane.model.endpoint
        return str(name) if name else None

    async def _principal(self, scope: Scope) -> Principal | None:
        from starlette.concurrency import run_in_threadpool

        token = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text.lower().startswith("bearer "):
                    token = text[7:].strip()
        if not token:
            return None
        found: Principal | None = await run_in_threadpool(
            self.state.authenticator.authenticate, token
        )
        return found

    async def _refused(
        self, scope: Scope, scopes: tuple[str, ...], what: str
    ) -> tuple[int, dict[str, Any]] | None:
        """``(status, body)`` refusing the call, or ``None``; the caller lands in ``scope``."""
        principal = await self._principal(scope)
        scope["mainsail.principal"] = principal
        wanted = " or ".join(f"'{s}'" for s in scopes)
        if principal is None:
            return 401, {
                "error": f"{what} needs a bearer token with the {wanted} scope; the request "
                "had none, or it is unknown, revoked or expired. Create one with "
                f"'mainsail tokens create USER --scope {scopes[-1]}'.",
                "type": "AuthenticationError",
            }
        if not set(scopes) & set(principal.scopes):
            return 403, {
                "error": f"{what} needs a token with the {wanted} scope; this one has "
                f"{', '.join(principal.scopes)}. Create one with "
                f"'mainsail tokens create USER --scope {scopes[-1]}'.",
                "type": "PermissionDeniedError",
            }
        endpoint = self._endpoint()
        if endpoint is not None and principal.role_in(endpoint) is None:
            return 403, {
                "error": f"{principal.name!r} has no role on project {endpoint!r} (the "
                f"endpoint), so its token may not call it. Ask an admin: 'mainsail users "
                f"grant {principal.name} --role viewer --project {endpoint}'.",
                "type": "PermissionDeniedError",
            }
        return None

    async def _feedback(self, scope: Scope, receive: Any, send: Any) -> None:
        from starlette.concurrency import run_in_threadpool

        refused = await self._refused(scope, ("feedback", "predict"), "Feedback")
        principal: Principal | None = scope.get("mainsail.principal")
        status = 500
        reply = b""
        try:
            if refused is not None:
                status = refused[0]
                await _send_json(send, *refused)
                return

            async def capture(message: Any) -> None:
                nonlocal status, reply
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                elif message["type"] == "http.response.body" and len(reply) < 4096:
                    reply += message.get("body", b"")
                await send(message)

            await self.app(scope, receive, capture)
        finally:
            await run_in_threadpool(self._audit, scope, principal, status, reply)

    def _audit(self, scope: Scope, principal: Principal | None, status: int, reply: bytes) -> None:
        after = None
        if status == 200:
            try:
                after = {"records": int(orjson.loads(reply)["accepted"])}
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                after = None
        headers = dict(scope.get("headers", ()))
        client = scope.get("client")
        try:
            self.state.ctx.database().add_audit_event(
                actor=principal.name if principal is not None else "unauthenticated",
                action="endpoints.feedback",
                target=f"endpoints/{self._endpoint() or '?'}/feedback",
                after=after,
                client=client[0] if client else None,
                status=status,
                request_id=headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex,
            )
        except Exception:  # noqa: BLE001 - a failed audit write is logged, never silent
            log.exception("could not write the audit event for feedback")


def _is_inference(path: str) -> bool:
    # explanations read the same model and (by request id) the prediction log
    return (
        path.endswith(("/infer", "/explain"))
        or path.startswith("/invocations")
        or path.startswith("/v1/explanations/")
    )


def _is_feedback(path: str) -> bool:
    return path.rstrip("/") == "/v1/feedback"
