"""The HTTP client of a Mainsail server: base URL, bearer token, errors as ``MainsailError``.

Server errors come back as the same ``MainsailError`` classes, with the server's message, so
code behaves the same against either store.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx

from mainsail.core import _errors
from mainsail.core._errors import (
    AuthenticationError,
    MainsailError,
    ServerError,
    StoreUnavailableError,
)

API = "/api/v1"


def seg(value: str | int) -> str:
    """One URL path segment (names may hold ``/`` or spaces)."""
    return quote(str(value), safe="")


def error_from(resp: httpx.Response) -> MainsailError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    message = body.get("error") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = f"The server answered {resp.status_code} {resp.reason_phrase} without details."
    cls = getattr(_errors, str(body.get("type", "")) if isinstance(body, dict) else "", None)
    if not (isinstance(cls, type) and issubclass(cls, MainsailError)):
        cls = {401: AuthenticationError, 503: StoreUnavailableError}.get(
            resp.status_code, ServerError
        )
    exc = cls.__new__(cls)
    MainsailError.__init__(exc, message)
    return exc


class RestClient:
    """A small JSON client: base URL, bearer token, errors mapped to ``MainsailError``.

    Parameters
    ----------
    url : str
        The server, e.g. ``http://127.0.0.1:8080``.
    token : str, optional
        Bearer token (never logged).
    client : httpx.Client, optional
        A ready client (tests pass an in-process ASGI client).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client is None:
            client = httpx.Client(base_url=self.url, timeout=timeout, verify=verify)
        self._owned = client
        self.http = client
        self.http.headers.update(headers)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self.http.request(method, API + path, **kw)
        except httpx.TransportError as exc:
            raise StoreUnavailableError(
                f"Expected a Mainsail server at {self.url}; could not reach it "
                f"({type(exc).__name__}). Start one with 'mainsail server' or fix "
                "MAINSAIL_TRACKING_URI."
            ) from None
        if resp.status_code >= 400:
            raise error_from(resp)
        return resp

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        return None if resp.status_code == 204 or not resp.content else resp.json()

    def close(self) -> None:
        self._owned.close()


__all__ = ["API", "RestClient", "error_from", "seg"]
