"""Monitors, their stored results and alerts.

Two protocols:

- :class:`MonitorStore`: what clients read and declare, so both the SQL and the REST store
  implement it (monitors CRUD, stored results and their score series, alerts and their
  history).
- :class:`MonitorRunStore`: what runs next to the database: a monitor run appends its result
  and moves the alert lifecycle on, the monitor controller finds what is due, automation
  triggers and the Prometheus exposition read the newest figures.

Rows are plain dicts: the monitoring package builds its models (``Monitor``,
``MonitorResult``, ``Alert``) from them, so the store does not import the layer above it.

Alerts change by compare-and-set: :meth:`MonitorRunStore.update_alert` writes only while
the columns in ``expect`` still hold, so two evaluations of one alert (a controller run and
a manual run, or two replicas) never both notify; :meth:`MonitorRunStore.insert_alert`
refuses a second open alert for one fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from mainsail.core._errors import InvalidValueError

#: The states an alert moves through; ``open`` alerts are pending or firing.
ALERT_STATES = ("pending", "firing", "resolved")


def check_alert_state(state: str | None) -> str | None:
    """``state`` if it is an alert state (or ``None``), else the error both stores raise."""
    if state is not None and state not in ALERT_STATES:
        raise InvalidValueError(
            f"Unknown alert state {state!r}. Valid states are: {', '.join(ALERT_STATES)}."
        )
    return state


@runtime_checkable
class MonitorStore(Protocol):
    # -- monitors ----------------------------------------------------------------------------
    def put_monitor(
        self, endpoint: str, name: str, spec: Mapping[str, Any], interval_s: int, enabled: bool
    ) -> dict[str, Any]:
        """Create or replace (by endpoint + name) a monitor's definition; returns its row.

        A new monitor is due at once; a replaced one keeps its id, results and schedule.
        """
        ...

    def get_monitor_row(self, endpoint: str, name: str) -> dict[str, Any]:
        """The monitor, or :class:`NotFoundError` listing the known ones."""
        ...

    def list_monitor_rows(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Monitors (of one endpoint, or all), by endpoint and name."""
        ...

    def delete_monitor(self, endpoint: str, name: str) -> None:
        """Delete a monitor and its stored results (:class:`NotFoundError` if there is none)."""
        ...

    # -- results -----------------------------------------------------------------------------
    def list_monitor_results(
        self, endpoint: str, name: str, limit: int = 100, since_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Stored result documents (with their ``id``), oldest first: the latest ``limit``."""
        ...

    def monitor_score_series(
        self, endpoint: str, name: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``ts``, ``status``, ``model_version`` and ``scores`` of the latest ``limit``
        results, oldest first: the monitor's time series."""
        ...

    # -- alerts ------------------------------------------------------------------------------
    def list_alert_rows(
        self,
        endpoint: str | None = None,
        state: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Alerts, newest first (resolved ones are the history)."""
        ...

    def get_alert_row(self, alert_id: int) -> dict[str, Any]:
        """One alert, or :class:`NotFoundError`."""
        ...


@runtime_checkable
class MonitorRunStore(Protocol):
    # -- what a run writes and the controller schedules ---------------------------------------
    def due_monitor_rows(self, now_ms: int) -> list[dict[str, Any]]:
        """Enabled monitors whose next run is due, soonest first."""
        ...

    def add_monitor_result(
        self, monitor_id: int, result: Mapping[str, Any], next_run_at: int
    ) -> int:
        """Append a result (``ts``, ``window_start``, ``window_end``, ``model_version``,
        ``status``, ``scores`` and the full ``result`` document) and move the monitor's
        schedule on (``last_run_at`` = the result's ``ts``), in one transaction."""
        ...

    def schedule_monitor(self, monitor_id: int, next_run_at: int) -> None:
        """Set when the monitor runs next (a failed run still waits its interval)."""
        ...

    # -- what triggers and the Prometheus exposition read -------------------------------------
    def latest_monitor_results(self) -> list[dict[str, Any]]:
        """The newest result of every monitor: ``endpoint``, ``name``, ``ts``, ``result``."""
        ...

    def endpoint_result_scores(
        self, endpoint: str, after_ts: int = 0, limit: int = 20
    ) -> list[dict[str, Any]]:
        """``id``, ``ts`` and ``scores`` of the endpoint's results newer than ``after_ts``
        (any of its monitors), newest first."""
        ...

    def firing_alert_counts(self) -> list[dict[str, Any]]:
        """``endpoint``, ``severity`` and ``count`` of firing alerts."""
        ...

    # -- the alert lifecycle -------------------------------------------------------------------
    def open_alert_row(self, fingerprint: str) -> dict[str, Any] | None:
        """The newest pending or firing alert with this fingerprint."""
        ...

    def insert_alert(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Open a new alert; ``None`` (nothing written) when one with the same fingerprint is
        already open."""
        ...

    def update_alert(
        self, alert_id: int, expect: Mapping[str, Any] | None = None, **values: Any
    ) -> dict[str, Any] | None:
        """Change an alert while the columns in ``expect`` still hold those values; the row
        after the change, or ``None`` when ``expect`` no longer matched (or no such alert)."""
        ...


__all__ = ["ALERT_STATES", "MonitorRunStore", "MonitorStore", "check_alert_state"]
