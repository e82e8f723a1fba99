"""SDK functions for alerts (the monitor functions live in ``_monitor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.monitoring._alerts import Alert, check_state, list_alerts_in, resolve_alert_in

if TYPE_CHECKING:
    from mainsail.store._context import Context


def list_alerts(ctx: Context, endpoint: str | None = None, state: str | None = None) -> list[Alert]:
    """Alerts, newest first; filter by endpoint and state (pending, firing, resolved).

    Examples
    --------
    >>> import mainsail
    >>> [a.rule for a in mainsail.list_alerts(state="firing")]  # doctest: +SKIP
    ['drift']
    """
    if (api := ctx.remote) is not None:
        check_state(state)
        params = {k: v for k, v in (("endpoint", endpoint), ("state", state)) if v is not None}
        return [Alert.model_validate(a) for a in api.json("GET", "/alerts", params=params)]
    return list_alerts_in(ctx.database().db, endpoint, state)


def resolve_alert(ctx: Context, alert_id: int) -> Alert:
    """Mark an alert resolved by hand (it opens again if its condition still holds)."""
    if (api := ctx.remote) is not None:
        return Alert.model_validate(api.json("POST", f"/alerts/{int(alert_id)}/resolve"))
    return resolve_alert_in(ctx.database().db, int(alert_id))
