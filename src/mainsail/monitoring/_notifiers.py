"""Notifiers: where an alert goes when it fires or resolves, registered by name.

Built in: ``log`` (the ``mainsail.alerts`` logger), ``webhook`` (a JSON POST: the alert
document, or a Slack-compatible ``{"text": ...}`` body with ``format: slack``). Any
Python callable ``(alert, event) -> None`` registers with :func:`register_notifier`.
A notifier that fails never breaks the monitor: the error is logged and recorded in the
alert's evidence.

Notifier specs (in ``create_monitor(notifiers=...)`` or YAML) are a registered name
(``"log"``), ``"webhook:<url>"``, or a dict ``{"type": "webhook", "url": ..., "format":
"slack", "timeout_s": 5, "headers": {...}}``.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from mainsail.core._errors import InvalidValueError

if TYPE_CHECKING:
    from mainsail.monitoring._alerts import Alert

log = logging.getLogger("mainsail.alerts")

#: ``event`` is "firing" or "resolved".
NotifyHook = Callable[["Alert", str], None]


class Notifier(Protocol):
    def send(self, alert: Alert, event: str) -> None: ...


def alert_text(alert: Alert, event: str) -> str:
    icon = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}.get(event, "")
    feats = alert.evidence.get("features") or []
    names = ", ".join(
        f"{f['column']} ({f['test']} {f['effect_size']:.3g})" for f in feats[:5] if "column" in f
    )
    value = f"{alert.value:.4g}" if alert.value is not None else "-"
    text = (
        f"{icon} [{alert.severity.upper()}] {alert.rule} {event} on endpoint "
        f"{alert.endpoint}: {alert.evidence.get('metric', '')} = {value} "
        f"({alert.evidence.get('condition', '')})"
    )
    return text + (f"\nFeatures: {names}" if names else "")


class LogNotifier:
    def __init__(self, level: str = "WARNING") -> None:
        self.level = logging.getLevelName(level.upper()) if isinstance(level, str) else level

    def send(self, alert: Alert, event: str) -> None:
        log.log(
            self.level if isinstance(self.level, int) else logging.WARNING, alert_text(alert, event)
        )


class WebhookNotifier:
    """POST the alert as JSON; ``format="slack"`` posts ``{"text": ...}`` instead."""

    def __init__(
        self,
        url: str,
        format: str = "json",
        timeout_s: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidValueError(f"A webhook needs an http(s) URL. Got {url!r}.")
        if format not in ("json", "slack"):
            raise InvalidValueError(f"Webhook format must be 'json' or 'slack'. Got {format!r}.")
        self.url, self.format, self.timeout_s = url, format, timeout_s
        self.headers = dict(headers or {})

    def body(self, alert: Alert, event: str) -> dict[str, Any]:
        if self.format == "slack":
            return {"text": alert_text(alert, event)}
        return {"event": event, "alert": alert.model_dump()}

    def send(self, alert: Alert, event: str) -> None:
        data = orjson.dumps(self.body(alert, event), default=str)
        req = urllib.request.Request(
            self.url,
            data=data,
            headers={"content-type": "application/json", **self.headers},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - http(s) only
            if resp.status >= 300:
                raise RuntimeError(f"webhook {self.url} answered {resp.status}")


class _Hook:
    def __init__(self, fn: NotifyHook) -> None:
        self.fn = fn

    def send(self, alert: Alert, event: str) -> None:
        self.fn(alert, event)


_HOOKS: dict[str, NotifyHook] = {}
_GLOBAL: set[str] = set()
_TYPES: dict[str, Callable[..., Notifier]] = {"log": LogNotifier, "webhook": WebhookNotifier}


def register_notifier(name: str, hook: NotifyHook, all_monitors: bool = False) -> None:
    """Call ``hook(alert, event)`` for monitors that list ``name`` in their notifiers.

    With ``all_monitors=True`` the hook hears every monitor's alerts in this process
    (what automated retraining subscribes with).

    Examples
    --------
    >>> seen = []
    >>> register_notifier("retrain", lambda alert, event: seen.append((alert.rule, event)))
    """
    if not name or name in _TYPES:
        raise InvalidValueError(
            f"Notifier name {name!r} is empty or built in ({', '.join(_TYPES)}); pick another."
        )
    _HOOKS[name] = hook
    if all_monitors:
        _GLOBAL.add(name)
    else:
        _GLOBAL.discard(name)


def unregister_notifier(name: str) -> None:
    _HOOKS.pop(name, None)
    _GLOBAL.discard(name)


def global_hooks() -> list[str]:
    return sorted(_GLOBAL)


def available_notifiers() -> list[str]:
    return sorted({*_TYPES, *_HOOKS})


def notifier_name(spec: str | dict[str, Any]) -> str:
    if isinstance(spec, dict):
        return str(spec.get("type") or spec.get("name") or "?")
    return spec.split(":", 1)[0]


def validate_spec(spec: str | dict[str, Any]) -> None:
    """Raise on a malformed spec (a hook name may be registered later, so names pass)."""
    if isinstance(spec, dict):
        kind = spec.get("type")
        if kind not in _TYPES and kind not in _HOOKS:
            raise InvalidValueError(
                f"Notifier spec needs 'type' (one of {', '.join(available_notifiers())}). "
                f"Got {spec!r}."
            )
        build_notifier(spec)
    elif isinstance(spec, str) and spec.startswith("webhook:"):
        build_notifier(spec)
    elif not isinstance(spec, str) or not spec:
        raise InvalidValueError(f"A notifier is a name or a dict. Got {spec!r}.")


def build_notifier(spec: str | dict[str, Any]) -> Notifier:
    if isinstance(spec, dict):
        opts = {k: v for k, v in spec.items() if k not in ("type", "name")}
        kind = str(spec.get("type"))
        if kind in _HOOKS:
            return _Hook(_HOOKS[kind])
        if kind not in _TYPES:
            raise InvalidValueError(
                f"Unknown notifier {kind!r}. Valid notifiers are: {', '.join(available_notifiers())}."
            )
        try:
            return _TYPES[kind](**opts)
        except TypeError as exc:
            raise InvalidValueError(f"Bad options for notifier {kind!r}: {exc}.") from exc
    if spec.startswith("webhook:"):
        return WebhookNotifier(spec[len("webhook:") :])
    if spec in _HOOKS:
        return _Hook(_HOOKS[spec])
    if spec in _TYPES and spec != "webhook":
        return _TYPES[spec]()
    raise InvalidValueError(
        f"Unknown notifier {spec!r}. Valid notifiers are: {', '.join(available_notifiers())} "
        "(a webhook is 'webhook:<url>' or {'type': 'webhook', 'url': ...})."
    )


def notify(specs: list[str | dict[str, Any]], alert: Alert, event: str) -> list[str]:
    """Send to every notifier; return the errors (never raises)."""
    errors = []
    for spec in specs:
        try:
            build_notifier(spec).send(alert, event)
        except Exception as exc:  # noqa: BLE001 - a notifier never breaks the monitor
            msg = f"{notifier_name(spec)}: {type(exc).__name__}: {exc}"
            log.error("notification of alert %s (%s) failed: %s", alert.id, event, msg)
            errors.append(msg)
    return errors
