"""The monitoring service next to the data (embedded, or inside the server)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.core._durations import parse_duration
from mainsail.monitoring._alerts import Alert, resolve_by_hand
from mainsail.monitoring._monitors import get_monitor
from mainsail.monitoring._report import build_report
from mainsail.monitoring._run import execute, notifiers_of, send
from mainsail.monitoring._spec import MonitorResult

if TYPE_CHECKING:
    from mainsail.store._context import Context


class LocalMonitoring:
    """:class:`~mainsail.monitoring._service.MonitoringService` over the SQL store."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(
        self, endpoint: str, name: str, window: str | None = None, now_ms: int | None = None
    ) -> MonitorResult:
        monitor = get_monitor(self.ctx, endpoint, name)
        return execute(self.ctx, monitor, parse_duration(window) if window else None, now_ms)

    def report(
        self, endpoint: str, name: str, window: str | None = None, history: int = 200
    ) -> dict[str, Any]:
        return build_report(self.ctx, endpoint, name, window, history=history)

    def resolve_alert(self, alert_id: int) -> Alert:
        store = self.ctx.database("Resolving an alert")
        alert, news = resolve_by_hand(store, alert_id)
        if not news:
            return alert
        send(store, notifiers_of(store, alert), alert, "resolved")
        return Alert.model_validate(store.get_alert_row(alert.id))
