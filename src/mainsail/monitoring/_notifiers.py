"""Notifiers: where an alert goes when it fires or resolves, registered by name.

A notifier type is a class (any factory) built with the options of a monitor's notifier
spec, whose ``send(alert, event)`` delivers one notification. Types register in
:data:`NOTIFIERS` (entry-point group ``mainsail.notifiers``), the built-ins included:
``log`` (the ``mainsail.alerts`` logger) and ``webhook`` (a JSON POST: the alert document,
or a Slack-compatible ``{"text": ...}`` body with ``format: slack``). A plain callable
``(alert, event) -> None`` registers as a named hook with :func:`register_notifier`.
A notifier that fails never breaks the monitor: the error is logged and recorded in the
alert's evidence.

Notifier specs (in ``create_monitor(notifiers=...)`` or YAML) are a registered name
(``"log"``), ``"TYPE:ARG"`` for types with a short form (``"webhook:<url>"``), or a dict
``{"type": "webhook", "url": ..., "format": "slack", "timeout_s": 5, "headers": {...}}``.

A webhook never calls loopback, link-local (cloud metadata) or other internal-only
addresses unless the ``MAINSAIL_WEBHOOK_ALLOW`` allow-list names them; with an allow-list,
only what it names (:mod:`mainsail.core._egress`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from mainsail.core._egress import check_outbound_url, post_json
from mainsail.core._errors import InvalidValueError
from mainsail.core._plugins import Registry

if TYPE_CHECKING:
    from mainsail.monitoring._alerts import Alert

log = logging.getLogger("mainsail.alerts")

#: ``event`` is "firing" or "resolved".
NotifyHook = Callable[["Alert", str], None]


@runtime_checkable
class Notifier(Protocol):
    """Delivers one notification: ``event`` is "firing" or "resolved"."""

    def send(self, alert: Alert, event: str) -> None: ...


#: Builds a notifier from a spec's options (``{"type": "webhook", "url": ...}`` calls
#: ``WebhookNotifier(url=...)``). A factory with a ``from_uri(arg)`` classmethod also
#: accepts the short form ``"TYPE:ARG"``.
NotifierFactory = Callable[..., Notifier]


def alert_text(alert: Alert, event: str, *, slack: bool = False) -> str:
    """One line (plus the drifted features) for a log or a chat message; ``slack=True``
    prefixes Slack's emoji shortcodes, which elsewhere would print literally."""
    icon = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}.get(event, "")
    icon = icon if slack else ""
    feats = alert.evidence.get("features") or []
    names = ", ".join(
        f"{f['column']} ({f['test']} {f['effect_size']:.3g})" for f in feats[:5] if "column" in f
    )
    value = f"{alert.value:.4g}" if alert.value is not None else "-"
    text = (
        f"{icon + ' ' if icon else ''}[{alert.severity.upper()}] {alert.rule} {event} on endpoint "
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
        # as written (no DNS yet): a literal internal address is refused when it is saved
        check_outbound_url(url, _allow(), resolve=False)
        if format not in ("json", "slack"):
            raise InvalidValueError(f"Webhook format must be 'json' or 'slack'. Got {format!r}.")
        self.url, self.format, self.timeout_s = url, format, timeout_s
        self.headers = dict(headers or {})

    @classmethod
    def from_uri(cls, url: str) -> WebhookNotifier:
        """``"webhook:<url>"``."""
        return cls(url)

    def body(self, alert: Alert, event: str) -> dict[str, Any]:
        if self.format == "slack":
            return {"text": alert_text(alert, event, slack=True)}
        return {"event": event, "alert": alert.model_dump()}

    def send(self, alert: Alert, event: str) -> None:
        data = orjson.dumps(self.body(alert, event), default=str)
        # checked again after DNS and on every redirect (mainsail.core._egress)
        status = post_json(
            self.url, data, headers=self.headers, timeout=self.timeout_s, allow=_allow()
        )
        if status >= 300:
            raise RuntimeError(f"webhook {self.url} answered {status}")


def _allow() -> list[str]:
    """The process's webhook allow-list (``MAINSAIL_WEBHOOK_ALLOW``)."""
    from mainsail.core._settings import get_settings

    return get_settings().webhook_allow


class _Hook:
    def __init__(self, fn: NotifyHook) -> None:
        self.fn = fn

    def send(self, alert: Alert, event: str) -> None:
        self.fn(alert, event)


def check_notifier(obj: Any) -> NotifierFactory:
    """``obj`` if it can be a notifier type, else an error saying what is wrong.

    A notifier type is a factory (usually a class) called with a spec's options; a class
    must have a ``send(alert, event)`` method; an optional ``from_uri(arg)`` classmethod
    builds it from the short form ``"TYPE:ARG"``.

    Examples
    --------
    >>> check_notifier(WebhookNotifier) is WebhookNotifier
    True
    """
    what = getattr(obj, "__name__", repr(obj))
    if not callable(obj):
        raise InvalidValueError(
            f"A notifier type must be a class (or a factory) built with the spec's options. "
            f"Got {what} ({type(obj).__name__})."
        )
    if isinstance(obj, type) and not callable(getattr(obj, "send", None)):
        raise InvalidValueError(
            f"{what} is not a notifier: it needs a send(alert, event) method. See "
            "mainsail.monitoring.Notifier for the protocol."
        )
    if hasattr(obj, "from_uri") and not callable(obj.from_uri):
        raise InvalidValueError(f"{what}.from_uri must be a method building it from 'TYPE:ARG'.")
    return obj  # type: ignore[no-any-return]


def _check(obj: Any) -> None:
    check_notifier(obj)


#: Every notifier type by name: the built-ins and the entry points of the group
#: ``mainsail.notifiers`` (``name = "package.module:Class"``).
NOTIFIERS: Registry[NotifierFactory] = Registry(
    "notifier", group="mainsail.notifiers", validate=lambda _name, obj: _check(obj)
)
NOTIFIERS.register("log", LogNotifier)
NOTIFIERS.register("webhook", WebhookNotifier)

_HOOKS: dict[str, NotifyHook] = {}
_GLOBAL: set[str] = set()


def register_notifier(name: str, hook: Any, all_monitors: bool = False) -> None:
    """Register a notifier under ``name``.

    ``hook`` is a callable ``(alert, event)`` called for monitors that list ``name`` in their
    notifiers; with ``all_monitors=True`` it hears every monitor's alerts in this process
    (what automated retraining subscribes with). ``hook`` may instead be a notifier type: a
    class with ``send(alert, event)`` built with each spec's options, or its
    ``"package.module:Class"`` (imported on first use).

    Examples
    --------
    >>> seen = []
    >>> register_notifier("retrain", lambda alert, event: seen.append((alert.rule, event)))
    >>> register_notifier("pager", "acme.notify:PagerNotifier")  # doctest: +SKIP
    """
    if isinstance(hook, str | type):
        if not name or name in _HOOKS:
            raise InvalidValueError(
                f"Notifier name {name!r} is empty or a registered hook; pick another."
            )
        NOTIFIERS.register(name, check_notifier(hook) if isinstance(hook, type) else hook)
        return
    if not name or name in NOTIFIERS:
        raise InvalidValueError(
            f"Notifier name {name!r} is empty or taken by a notifier type, built in or "
            f"registered ({', '.join(NOTIFIERS.names())}); pick another."
        )
    if not callable(hook):
        raise InvalidValueError(
            f"A notifier hook is a callable (alert, event) -> None. Got {type(hook).__name__}."
        )
    _HOOKS[name] = hook
    if all_monitors:
        _GLOBAL.add(name)
    else:
        _GLOBAL.discard(name)


def unregister_notifier(name: str) -> None:
    """Forget the hook or notifier type ``name`` (built-ins stay)."""
    _HOOKS.pop(name, None)
    _GLOBAL.discard(name)
    if name not in ("log", "webhook"):
        NOTIFIERS.unregister(name)


def global_hooks() -> list[str]:
    return sorted(_GLOBAL)


def available_notifiers() -> list[str]:
    return sorted({*NOTIFIERS.names(), *_HOOKS})


def notifier_name(spec: str | dict[str, Any]) -> str:
    if isinstance(spec, dict):
        return str(spec.get("type") or spec.get("name") or "?")
    return spec.split(":", 1)[0]


def _short_form(spec: str) -> tuple[str, str] | None:
    """``("webhook", "http://...")`` for ``"webhook:http://..."`` if that type is known."""
    kind, sep, arg = spec.partition(":")
    return (kind, arg) if sep and kind in NOTIFIERS else None


def validate_spec(spec: str | dict[str, Any]) -> None:
    """Raise on a malformed spec (a hook name may be registered later, so names pass)."""
    if isinstance(spec, dict):
        kind = spec.get("type")
        if kind not in NOTIFIERS and kind not in _HOOKS:
            raise InvalidValueError(
                f"Notifier spec needs 'type' (one of {', '.join(available_notifiers())}). "
                f"Got {spec!r}."
            )
        build_notifier(spec)
    elif isinstance(spec, str) and spec not in _HOOKS and _short_form(spec) is not None:
        build_notifier(spec)
    elif not isinstance(spec, str) or not spec:
        raise InvalidValueError(f"A notifier is a name or a dict. Got {spec!r}.")


def _build(kind: str, options: dict[str, Any]) -> Notifier:
    factory = NOTIFIERS.get(kind)
    try:
        return factory(**options)
    except TypeError as exc:
        raise InvalidValueError(f"Bad options for notifier {kind!r}: {exc}.") from exc


def build_notifier(spec: str | dict[str, Any]) -> Notifier:
    """The notifier a spec describes (an unknown one: the error lists the valid ones)."""
    if isinstance(spec, dict):
        kind = str(spec.get("type"))
        if kind in _HOOKS:
            return _Hook(_HOOKS[kind])
        opts = {k: v for k, v in spec.items() if k not in ("type", "name")}
        if kind not in NOTIFIERS:
            raise InvalidValueError(
                f"Unknown notifier {kind!r}. Valid notifiers are: {', '.join(available_notifiers())}."
            )
        return _build(kind, opts)
    if spec in _HOOKS:
        return _Hook(_HOOKS[spec])
    short = _short_form(spec)
    if short is not None:
        kind, arg = short
        factory = NOTIFIERS.get(kind)
        from_uri = getattr(factory, "from_uri", None)
        if from_uri is None:
            raise InvalidValueError(
                f"Notifier {kind!r} has no short form {spec!r}; give its options as a dict: "
                f"{{'type': {kind!r}, ...}}."
            )
        notifier: Notifier = from_uri(arg)
        return notifier
    if spec in NOTIFIERS:
        return _build(spec, {})
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
