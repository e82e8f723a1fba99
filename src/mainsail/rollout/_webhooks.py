"""Rollout webhooks: an HTTP POST with a JSON body, as Flagger sends them."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson

WEBHOOK_TYPES = ("pre_rollout", "confirm_promotion", "post_rollout", "rollback")


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    status: int | None
    message: str


def call_webhook(
    url: str, kind: str, payload: dict[str, Any], timeout: float = 5.0
) -> WebhookResult:
    """POST ``payload`` (plus ``{"type": kind}``); ``ok`` when the answer is 2xx."""
    body = orjson.dumps({"type": kind, **payload}, default=str)
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-configured
            status = int(resp.status)
            return WebhookResult(200 <= status < 300, status, f"{kind} webhook answered {status}")
    except urllib.error.HTTPError as exc:
        return WebhookResult(False, exc.code, f"{kind} webhook answered {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return WebhookResult(False, None, f"{kind} webhook {url} unreachable: {exc}")
