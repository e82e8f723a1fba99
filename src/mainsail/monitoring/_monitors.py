"""Declaring monitors: create (or update), read, list, delete; from Python or YAML.

Monitors are records in the store (``ctx.store``), so these work the same embedded and
against a server, whose routes add the role checks and the audit trail.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from mainsail.core._durations import parse_duration
from mainsail.core._errors import InvalidValueError, MainsailError
from mainsail.core._uris import check_name
from mainsail.monitoring._alerts import AlertRule, parse_rules
from mainsail.monitoring._notifiers import validate_spec
from mainsail.monitoring._spec import DEFAULT_CHECKS, Monitor, MonitorSpec
from mainsail.monitoring._tests import get_test

if TYPE_CHECKING:
    from mainsail.store._context import Context

_UNSET: Any = object()


def _threshold(max_drift_share: float, drift_share: float | None) -> float:
    if drift_share is None:
        return max_drift_share
    warnings.warn(
        "create_monitor(drift_share=...) and the YAML key 'drift_share' are deprecated; use "
        "max_drift_share (the threshold the observed share_drifted is compared with).",
        DeprecationWarning,
        stacklevel=3,
    )
    return drift_share


def create_monitor(
    ctx: Context,
    endpoint: str,
    *,
    name: str = "default",
    checks: list[str] | None = None,
    window: str = "1h",
    interval: str = "5m",
    rules: list[AlertRule | dict[str, Any]] | None = None,
    notifiers: list[str | dict[str, Any]] | None = None,
    model: str | None = None,
    max_drift_share: float = 0.5,
    stattest: str | None = None,
    tests: dict[str, str] | None = None,
    columns: list[str] | None = None,
    enabled: bool = True,
    drift_share: float | None = None,
) -> Monitor:
    """Create or update (by endpoint + name) a monitor.

    Parameters
    ----------
    endpoint : the served endpoint whose traffic is watched.
    checks : any of drift, quality, performance, operational, attribution (default: all
        but attribution, which explains the window's rows with the model: opt-in).
    window : how much traffic each run looks at ("1h", "30m", "7d").
    interval : how often the controller runs it ("5m").
    rules : alert rules (``AlertRule`` or dicts); default: :func:`default_rules`.
    notifiers : ``"log"``, ``"webhook:<url>"``, ``{"type": "webhook", ...}``, hook names,
        or any registered notifier type (``{"type": NAME, **options}``).
    model : registered model name behind the endpoint (default: from the log, else the
        endpoint name).
    max_drift_share : the dataset has drifted when the share of drifted features reaches
        this (in (0, 1]).
    drift_share : deprecated name of ``max_drift_share``.

    Examples
    --------
    >>> import mainsail
    >>> m = mainsail.create_monitor("churn", window="1h", interval="5m")  # doctest: +SKIP
    """
    threshold = _threshold(max_drift_share, drift_share)
    check_name(endpoint, "Endpoint")
    check_name(name, "Monitor")
    try:
        spec = MonitorSpec(
            endpoint=endpoint,
            name=name,
            checks=list(checks) if checks is not None else list(DEFAULT_CHECKS),
            window=window,
            interval=interval,
            rules=parse_rules(rules) if rules is not None else None,
            notifiers=list(notifiers) if notifiers is not None else ["log"],
            model=model,
            max_drift_share=threshold,
            stattest=stattest,
            tests=dict(tests or {}),
            columns=columns,
            enabled=enabled,
        )
    except MainsailError:
        raise
    except Exception as exc:
        raise InvalidValueError(f"Bad monitor definition for {endpoint!r}: {exc}") from exc
    if not 0 < threshold <= 1:
        raise InvalidValueError(f"max_drift_share must be in (0, 1]. Got {threshold}.")
    for n in spec.notifiers:
        validate_spec(n)
    for test in [spec.stattest, *spec.tests.values()]:
        if test is not None:
            get_test(test)  # an unknown drift test: the error lists the valid ones
    row = ctx.store.put_monitor(
        endpoint,
        name,
        spec.model_dump(mode="json"),
        interval_s=int(parse_duration(spec.interval)),
        enabled=spec.enabled,
    )
    return Monitor.model_validate(row)


def monitor_from_yaml(ctx: Context, text: str) -> list[Monitor]:
    """Create the monitors of a YAML document (one mapping, or a list under ``monitors:``)."""
    from mainsail.core._optional import import_optional

    yaml = import_optional("yaml", extra="monitor", package="pyyaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"Monitor YAML does not parse: {exc}") from exc
    docs = data.get("monitors", [data]) if isinstance(data, dict) else data
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise InvalidValueError(
            "Expected a monitor mapping (endpoint:, window:, checks:, rules:, ...) or a list "
            f"of them under 'monitors:'. Got {type(data).__name__}."
        )
    out = []
    for d in docs:
        if "endpoint" not in d:
            raise InvalidValueError(f"A monitor needs 'endpoint'. Got keys: {', '.join(d)}.")
        d = dict(d)
        out.append(create_monitor(ctx, d.pop("endpoint"), **d))
    return out


def get_monitor(ctx: Context, endpoint: str, name: str = "default") -> Monitor:
    """The monitor ``name`` of ``endpoint``; :class:`NotFoundError` lists the known ones."""
    return Monitor.model_validate(ctx.store.get_monitor_row(endpoint, name))


def list_monitors(ctx: Context, endpoint: str | None = None) -> list[Monitor]:
    """Monitors (of one endpoint, or all), by endpoint and name.

    Examples
    --------
    >>> import mainsail
    >>> [m.name for m in mainsail.list_monitors("churn")]  # doctest: +SKIP
    ['default']
    """
    return [Monitor.model_validate(r) for r in ctx.store.list_monitor_rows(endpoint)]


def delete_monitor(ctx: Context, endpoint: str, name: str = "default") -> None:
    """Delete a monitor and its stored results."""
    ctx.store.delete_monitor(endpoint, name)


__all__ = [
    "create_monitor",
    "delete_monitor",
    "get_monitor",
    "list_monitors",
    "monitor_from_yaml",
]
