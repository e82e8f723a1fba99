"""Outbound HTTP to user-configured URLs (alert webhooks, rollout webhooks), without SSRF.

A server that POSTs to any URL a deployer types can be steered at its own internal
services: the cloud metadata endpoint (``169.254.169.254``), an admin port on loopback.
:func:`check_outbound_url` refuses loopback, link-local, unspecified, multicast and
reserved addresses unless the allow-list (the ``webhook_allow`` setting,
``MAINSAIL_WEBHOOK_ALLOW``) names them; with an allow-list set, only the destinations it
names are reached at all. :func:`post_json` checks the URL at send time (after DNS) and
every redirect it follows.

Allow-list entries are host name patterns (``hooks.slack.com``, ``*.internal.example``),
IP addresses (``127.0.0.1``) or networks (``10.0.0.0/8``, ``::1/128``).

The check resolves the name, and the HTTP client resolves it again to connect: a DNS server
that answers differently the second time (DNS rebinding) is not covered; set an allow-list
of names you control where that matters.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mainsail.core._errors import InvalidValueError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SETTING = "MAINSAIL_WEBHOOK_ALLOW"


class EgressRefusedError(InvalidValueError):
    """A webhook URL points at an address this process may not call."""


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _internal(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused by default (``None``: it is not)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    return None


def _allowed(host: str, ips: Sequence[IPAddress], allow: Sequence[str]) -> bool:
    name = host.lower().rstrip(".")
    for entry in allow:
        entry = entry.strip()
        if not entry:
            continue
        try:
            net = ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            if fnmatch.fnmatchcase(name, entry.lower().rstrip(".")):
                return True
            continue
        if any(ip.version == net.version and ip in net for ip in ips):
            return True
    return False


def _resolve(host: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # the HTTP client reports the unknown name itself
    out: list[IPAddress] = []
    for info in infos:
        ip = _ip(str(info[4][0]).split("%")[0])
        if ip is not None and ip not in out:
            out.append(ip)
    return out


def check_outbound_url(
    url: str, allow: Sequence[str] = (), *, resolve: bool = True, what: str = "A webhook"
) -> None:
    """Raise :class:`EgressRefusedError` unless this process may POST to ``url``.

    ``resolve=False`` checks the URL as written (for validating a spec when it is saved);
    the send-time check also resolves the host name.

    Examples
    --------
    >>> check_outbound_url("https://hooks.example.com/x", resolve=False)
    >>> check_outbound_url("http://169.254.169.254/latest", resolve=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mainsail.core._egress.EgressRefusedError: A webhook may not call 169.254.169.254...
    >>> check_outbound_url("http://127.0.0.1:8080/hook", ["127.0.0.1"], resolve=False)
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidValueError(f"{what} needs an http(s) URL. Got {url!r}.")
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        raise InvalidValueError(f"{what} URL {url!r} is malformed: {exc}.") from None
    if not host:
        raise InvalidValueError(f"{what} URL {url!r} names no host.")
    literal = _ip(host)
    ips = [literal] if literal is not None else (_resolve(host) if resolve else [])
    if _allowed(host, ips, allow):
        return
    if allow:
        raise EgressRefusedError(
            f"{what} may not call {host}: it is not in the allow-list ({_SETTING}="
            f"{','.join(allow)}). Add the host, its address or its network to {_SETTING}."
        )
    for ip in ips:
        why = _internal(ip)
        if why is not None:
            shown = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
            raise EgressRefusedError(
                f"{what} may not call {shown}: it is {why}, which this server refuses by "
                f"default so a webhook cannot reach its internal services. If you mean it, "
                f"allow it: {_SETTING}={host.strip('[]')} (host names, addresses or networks, "
                "comma-separated)."
            )
    if literal is None and host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        raise EgressRefusedError(
            f"{what} may not call {host}: it is a loopback name. If you mean it, allow it: "
            f"{_SETTING}={host}."
        )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL the same rules allow."""

    def __init__(self, allow: Sequence[str], what: str) -> None:
        self.allow, self.what = list(allow), what

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_outbound_url(newurl, self.allow, what=f"{self.what} (redirected)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def post_json(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    allow: Sequence[str] | None = None,
    what: str = "A webhook",
) -> int:
    """POST ``body`` (JSON) to ``url`` after :func:`check_outbound_url`; returns the status.

    ``allow`` defaults to the process's ``webhook_allow`` setting. An HTTP error status
    raises :class:`urllib.error.HTTPError`, as :func:`urllib.request.urlopen` does.
    """
    if allow is None:
        from mainsail.core._settings import get_settings

        allow = get_settings().webhook_allow
    check_outbound_url(url, allow, what=what)
    opener = urllib.request.build_opener(_CheckedRedirects(allow, what))
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    with opener.open(req, timeout=timeout) as resp:
        return int(resp.status)


__all__ = ["EgressRefusedError", "check_outbound_url", "post_json"]
