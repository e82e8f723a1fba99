"""Webhooks cannot be steered at the server's internal services (SSRF): loopback, link-local
and other internal-only addresses are refused unless allowed, and so are redirects there."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mainsail.core._egress import EgressRefusedError, check_outbound_url, post_json
from mainsail.core._errors import InvalidValueError
from mainsail.core._settings import Settings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/admin",
        "http://127.9.9.9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0:80/",
        "http://localhost:5432/",
        "https://LOCALHOST./x",
    ],
)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(EgressRefusedError, match="MAINSAIL_WEBHOOK_ALLOW="):
        check_outbound_url(url)


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(EgressRefusedError, match=r"localhost \(127\.0\.0\.1\)|loopback"):
        check_outbound_url("http://localhost:9/hook")


def test_public_addresses_pass_and_the_allow_list_opens_internal_ones() -> None:
    check_outbound_url("https://93.184.215.14/hook")  # a public literal: no DNS needed
    check_outbound_url("http://127.0.0.1:9/hook", ["127.0.0.1"])
    check_outbound_url("http://127.0.0.5:9/hook", ["127.0.0.0/8"])
    check_outbound_url("http://[::1]:9/hook", ["::1"])
    check_outbound_url("http://hooks.internal.example/x", ["*.internal.example"], resolve=False)


def test_with_an_allow_list_only_what_it_names_is_called() -> None:
    with pytest.raises(EgressRefusedError, match="not in the allow-list"):
        check_outbound_url("https://93.184.215.14/hook", ["hooks.slack.com", "10.0.0.0/8"])
    check_outbound_url("https://10.1.2.3/hook", ["hooks.slack.com", "10.0.0.0/8"])


def test_bad_urls_are_clear_errors() -> None:
    for url, match in (("ftp://x/y", "http\\(s\\) URL"), ("http:///path", "names no host")):
        with pytest.raises(InvalidValueError, match=match):
            check_outbound_url(url)


def test_the_setting_takes_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINSAIL_WEBHOOK_ALLOW", "127.0.0.1, hooks.example.com,,10.0.0.0/8")
    assert Settings().webhook_allow == ["127.0.0.1", "hooks.example.com", "10.0.0.0/8"]
    monkeypatch.delenv("MAINSAIL_WEBHOOK_ALLOW")
    assert Settings().webhook_allow == []


class _Sink(BaseHTTPRequestHandler):
    hits: list[str] = []
    redirect_to: str | None = None

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).hits.append(self.path)
        if self.path == "/redirect" and self.redirect_to:
            self.send_response(307)
            self.send_header("location", self.redirect_to)
        else:
            self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[int]:
    _Sink.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_post_json_refuses_before_connecting_and_follows_only_allowed_redirects(
    sink: int,
) -> None:
    with pytest.raises(EgressRefusedError):
        post_json(f"http://127.0.0.1:{sink}/hook", b"{}", allow=[])
    assert _Sink.hits == []  # nothing reached the internal service
    assert post_json(f"http://127.0.0.1:{sink}/hook", b"{}", allow=["127.0.0.1"]) == 204
    assert _Sink.hits == ["/hook"]
    # allowed by name, redirected to an address the list does not name: refused
    _Sink.redirect_to = f"http://127.0.0.1:{sink}/inner"
    with pytest.raises(EgressRefusedError, match="redirected"):
        post_json(f"http://localhost:{sink}/redirect", b"{}", allow=["localhost"])
    assert _Sink.hits == ["/hook", "/redirect"]


def test_alert_and_rollout_webhooks_refuse_internal_addresses(
    sink: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mainsail.core._settings import reset_settings
    from mainsail.monitoring._notifiers import WebhookNotifier, build_notifier, validate_spec
    from mainsail.rollout._webhooks import call_webhook

    url = f"http://127.0.0.1:{sink}/hook"
    with pytest.raises(EgressRefusedError, match="loopback"):
        validate_spec({"type": "webhook", "url": url})  # refused when the monitor is saved
    with pytest.raises(EgressRefusedError, match="link-local"):
        build_notifier("webhook:http://169.254.169.254/latest/meta-data/")
    res = call_webhook(url, "pre_rollout", {"endpoint": "e"})
    assert not res.ok and "refused" in res.message and "loopback" in res.message
    assert _Sink.hits == []
    monkeypatch.setenv("MAINSAIL_WEBHOOK_ALLOW", "127.0.0.1")
    reset_settings()
    try:
        assert call_webhook(url, "pre_rollout", {"endpoint": "e"}).ok
        notifier = build_notifier({"type": "webhook", "url": url})
        assert isinstance(notifier, WebhookNotifier)
    finally:
        monkeypatch.delenv("MAINSAIL_WEBHOOK_ALLOW")
        reset_settings()
    assert _Sink.hits == ["/hook"]
