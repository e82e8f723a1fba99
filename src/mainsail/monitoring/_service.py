"""The monitoring service: the operations that run next to the live data.

A monitor run reads the replicas' live sketches and the prediction and feedback logs under
the artifact root of the process next to the data, stores its result and notifies; a
report evaluates the monitor the same way; resolving an alert by hand tells the notifiers.
So each is a :class:`~mainsail.store.Service`: the local implementation does the work over
the SQL store (embedded, or inside the server), the remote one asks the server's routes.
Both return the same types and raise the same errors.

Declaring, reading and deleting monitors, and reading results and alerts, are records: they
go through the store (``ctx.store``), which the REST store implements too.
"""

from __future__ import annotations

from typing import Any, Protocol

from mainsail.monitoring._alerts import Alert
from mainsail.monitoring._spec import MonitorResult
from mainsail.store._context import Service


class MonitoringService(Protocol):
    def run(
        self, endpoint: str, name: str, window: str | None = None, now_ms: int | None = None
    ) -> MonitorResult:
        """Evaluate the monitor now (or over the window ending ``now_ms``), store the result,
        update its alerts and notify."""
        ...

    def report(
        self, endpoint: str, name: str, window: str | None = None, history: int = 200
    ) -> dict[str, Any]:
        """The monitor evaluated now (not stored), its distributions and stored history."""
        ...

    def resolve_alert(self, alert_id: int) -> Alert:
        """Resolve an alert by hand; a notified firing is followed by its resolution."""
        ...


MONITORING: Service[MonitoringService] = Service(
    "monitoring",
    local="mainsail.monitoring._local:LocalMonitoring",
    remote="mainsail.monitoring._remote:RemoteMonitoring",
)

__all__ = ["MONITORING", "MonitoringService"]
