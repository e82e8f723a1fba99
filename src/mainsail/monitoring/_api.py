"""Monitor runs and alerts: the SDK functions over the monitoring service and the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.monitoring._alerts import Alert, check_state, list_alerts_in
from mainsail.monitoring._service import MONITORING
from mainsail.monitoring._spec import MonitorResult

if TYPE_CHECKING:
    from mainsail.store._context import Context


def run_monitor(
    ctx: Context,
    endpoint: str,
    *,
    name: str = "default",
    window: str | None = None,
    now_ms: int | None = None,
) -> MonitorResult:
    """Evaluate a monitor now, store the result, update alerts and notify.

    It runs where the live sketches and logs are: here when embedded, on the server
    against one.

    Examples
    --------
    >>> import mainsail
    >>> r = mainsail.run_monitor("churn", window="1h")  # doctest: +SKIP
    >>> r.status, r.scores["drift.share"]  # doctest: +SKIP
    ('ok', 0.0)
    """
    return ctx.service(MONITORING).run(endpoint, name, window=window, now_ms=now_ms)


def list_alerts(ctx: Context, endpoint: str | None = None, state: str | None = None) -> list[Alert]:
    """Alerts, newest first; filter by endpoint and state (pending, firing, resolved).

    Examples
    --------
    >>> import mainsail
    >>> [a.rule for a in mainsail.list_alerts(state="firing")]  # doctest: +SKIP
    ['drift']
    """
    return list_alerts_in(ctx.store, endpoint, check_state(state))


def resolve_alert(ctx: Context, alert_id: int) -> Alert:
    """Mark an alert resolved by hand (it opens again if its condition still holds).

    If its firing was notified, the notifiers of the monitors that raise it hear that it
    resolved.
    """
    return ctx.service(MONITORING).resolve_alert(int(alert_id))
