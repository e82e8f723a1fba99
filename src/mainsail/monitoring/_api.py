"""SDK functions for alerts (the monitor functions live in ``_monitor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.monitoring._alerts import Alert, list_alerts_in, resolve_alert_in

if TYPE_CHECKING:
    from mainsail.client._context import Context


def _ctx(ctx: Context | None) -> Context:
    if ctx is not None:
        return ctx
    from mainsail.client._context import get_context

    return get_context()


def list_alerts(
    endpoint: str | None = None, state: str | None = None, ctx: Context | None = None
) -> list[Alert]:
    """Alerts, newest first; filter by endpoint and state (pending, firing, resolved).

    Examples
    --------
    >>> import mainsail
    >>> [a.rule for a in mainsail.list_alerts(state="firing")]  # doctest: +SKIP
    ['drift']
    """
    return list_alerts_in(_ctx(ctx).store.db, endpoint, state)


def resolve_alert(alert_id: int, ctx: Context | None = None) -> Alert:
    """Mark an alert resolved by hand (it opens again if its condition still holds)."""
    return resolve_alert_in(_ctx(ctx).store.db, int(alert_id))
