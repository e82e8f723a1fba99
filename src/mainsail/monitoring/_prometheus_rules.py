"""Prometheus alerting rules over the monitoring gauges (``mainsail build prometheus-rules``).

They page on what Mainsail's own alert rules watch (dataset and feature drift, missing
values, performance, label coverage, errors) plus a monitor that stopped running, from the
gauges of :data:`~mainsail.monitoring._exposition.GAUGES`.
"""

from __future__ import annotations

from typing import Any


def prometheus_rules(
    drift_for: str = "15m",
    missing_ratio: float = 0.1,
    min_coverage: float = 0.05,
    stale_s: int = 3600,
) -> dict[str, Any]:
    """Prometheus alerting rules (one group) over the exported gauges."""
    rules = [
        {
            "alert": "MainsailDatasetDrift",
            "expr": "mainsail_dataset_drift == 1",
            "for": drift_for,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Dataset drift on {{ $labels.endpoint }} (model version {{ $labels.model_version }})",
                "description": "The share of drifted features reached the monitor's threshold.",
            },
        },
        {
            "alert": "MainsailFeatureDrift",
            "expr": "mainsail_drift_detected == 1",
            "for": drift_for,
            "labels": {"severity": "info"},
            "annotations": {
                "summary": "{{ $labels.feature }} drifted on {{ $labels.endpoint }} ({{ $labels.test }})"
            },
        },
        {
            "alert": "MainsailMissingRatioHigh",
            "expr": f"mainsail_missing_ratio > {missing_ratio}",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.feature }} is missing in {{ $value | humanizePercentage }} of traffic"
            },
        },
        {
            "alert": "MainsailPerformanceDrop",
            "expr": 'mainsail_performance_delta{metric=~"accuracy|r2|f1|roc_auc"} < -0.05',
            "for": "30m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.metric }} is {{ $value }} below the reference on {{ $labels.endpoint }}"
            },
        },
        {
            "alert": "MainsailLowLabelCoverage",
            "expr": f"mainsail_label_coverage < {min_coverage}",
            "for": "1h",
            "labels": {"severity": "info"},
            "annotations": {
                "summary": "Few labels on {{ $labels.endpoint }}: performance figures are uncertain"
            },
        },
        {
            "alert": "MainsailErrorRate",
            "expr": "mainsail_error_rate > 0.05",
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "{{ $value | humanizePercentage }} of requests fail on {{ $labels.endpoint }}"
            },
        },
        {
            "alert": "MainsailMonitorStale",
            "expr": f"time() - mainsail_monitor_last_run_timestamp_seconds > {stale_s}",
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Monitor {{ $labels.endpoint }}/{{ $labels.monitor }} has not run recently"
            },
        },
    ]
    return {"groups": [{"name": "mainsail-monitoring", "rules": rules}]}


__all__ = ["prometheus_rules"]
