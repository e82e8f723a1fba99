"""Rollout webhooks: an HTTP POST with a JSON body, as Flagger sends them.

Internal addresses (loopback, link-local, ...) are refused unless ``MAINSAIL_WEBHOOK_ALLOW``
names them; with an allow-list, only what it names is called (:mod:`mainsail.core._egress`).
A refused webhook is a failed one: the rollout holds or rolls back as for any failure.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from mainsail.core._egress import EgressRefusedError, post_json
from mainsail.core._errors import InvalidValueError

WEBHOOK_TYPES = ("pre_rollout", "confirm_promotion", "post_rollout", "rollback")


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    status: int | None
    message: str


def call_webhook(
    url: str,
    kind: str,
    payload: dict[str, Any],
    timeout: float = 5.0,
    allow: Sequence[str] | None = None,
) -> WebhookResult:
    """POST ``payload`` (plus ``{"type": kind}``); ``ok`` when the answer is 2xx.

    ``allow`` is the webhook allow-list (default: the ``webhook_allow`` setting)."""
    body = orjson.dumps({"type": kind, **payload}, default=str)
    try:
        status = post_json(url, body, timeout=timeout, allow=allow, what=f"The {kind} webhook")
        return WebhookResult(200 <= status < 300, status, f"{kind} webhook answered {status}")
    except urllib.error.HTTPError as exc:
        return WebhookResult(False, exc.code, f"{kind} webhook answered {exc.code}")
    except (EgressRefusedError, InvalidValueError) as exc:
        return WebhookResult(False, None, f"{kind} webhook refused: {exc.message}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return WebhookResult(False, None, f"{kind} webhook {url} unreachable: {exc}")
