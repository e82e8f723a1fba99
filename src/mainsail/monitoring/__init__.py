"""Monitoring: drift, data quality, performance with delayed labels, operations, alerts.

Monitors and their results and alerts are records in the store; running a monitor, its
report and resolving an alert run next to the live data (the monitoring service). Drift
tests and notifier types are plug-ins (:data:`DRIFT_TESTS`, :data:`NOTIFIERS`).
"""

from mainsail.core._durations import parse_duration
from mainsail.monitoring._alerts import Alert, AlertRule, default_rules
from mainsail.monitoring._api import list_alerts, resolve_alert, run_monitor
from mainsail.monitoring._controller import MonitorController
from mainsail.monitoring._drift import ColumnDrift, DriftReport, drift
from mainsail.monitoring._exposition import MonitoringCollector, render_prometheus
from mainsail.monitoring._grafana import grafana_dashboard
from mainsail.monitoring._monitors import (
    create_monitor,
    delete_monitor,
    get_monitor,
    list_monitors,
    monitor_from_yaml,
)
from mainsail.monitoring._notifiers import (
    NOTIFIERS,
    Notifier,
    available_notifiers,
    check_notifier,
    register_notifier,
    unregister_notifier,
)
from mainsail.monitoring._performance import PerformanceReport, join_labels, performance
from mainsail.monitoring._prometheus_rules import prometheus_rules
from mainsail.monitoring._quality import QualityIssue, QualityReport, check_quality
from mainsail.monitoring._report import write_report
from mainsail.monitoring._results import list_results, results_frame
from mainsail.monitoring._service import MONITORING, MonitoringService
from mainsail.monitoring._sources import load_sketches, read_log
from mainsail.monitoring._spec import Monitor, MonitorResult, MonitorSpec
from mainsail.monitoring._tests import (
    DRIFT_TESTS,
    AutoChoice,
    DriftScore,
    DriftTest,
    available_tests,
    check_drift_test,
    get_test,
    register_test,
)

__all__ = [
    "DRIFT_TESTS",
    "MONITORING",
    "NOTIFIERS",
    "Alert",
    "AlertRule",
    "AutoChoice",
    "ColumnDrift",
    "DriftReport",
    "DriftScore",
    "DriftTest",
    "Monitor",
    "MonitorController",
    "MonitorResult",
    "MonitorSpec",
    "MonitoringCollector",
    "MonitoringService",
    "Notifier",
    "PerformanceReport",
    "QualityIssue",
    "QualityReport",
    "available_notifiers",
    "available_tests",
    "check_drift_test",
    "check_notifier",
    "check_quality",
    "create_monitor",
    "default_rules",
    "delete_monitor",
    "drift",
    "get_monitor",
    "get_test",
    "grafana_dashboard",
    "join_labels",
    "list_alerts",
    "list_monitors",
    "list_results",
    "load_sketches",
    "monitor_from_yaml",
    "parse_duration",
    "performance",
    "prometheus_rules",
    "read_log",
    "register_notifier",
    "register_test",
    "render_prometheus",
    "resolve_alert",
    "results_frame",
    "run_monitor",
    "unregister_notifier",
    "write_report",
]
