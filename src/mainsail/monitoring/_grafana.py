"""A Grafana dashboard over the monitoring gauges (``mainsail build grafana``).

Every panel queries gauges of :data:`~mainsail.monitoring._exposition.GAUGES` only, with the
labels the exposition writes, so the dashboard works on a fresh Prometheus scrape.
"""

from __future__ import annotations

from typing import Any


def _panel(
    pid: int, title: str, exprs: list[tuple[str, str]], x: int, y: int, unit: str = "short"
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def grafana_dashboard(title: str = "Mainsail model monitoring") -> dict[str, Any]:
    """A Grafana dashboard (schema 39) over the gauges :func:`render_prometheus` exports."""
    sel = 'endpoint=~"$endpoint"'
    specs: list[tuple[str, list[tuple[str, str]], str]] = [
        (
            "Dataset drift share",
            [(f"mainsail_dataset_drift_share{{{sel}}}", "{{endpoint}} v{{model_version}}")],
            "percentunit",
        ),
        (
            "Feature drift score",
            [(f"mainsail_drift_score{{{sel}}}", "{{feature}} ({{test}})")],
            "short",
        ),
        (
            "Drifted features",
            [(f"sum by (endpoint) (mainsail_drift_detected{{{sel}}})", "{{endpoint}}")],
            "short",
        ),
        ("Missing ratio", [(f"mainsail_missing_ratio{{{sel}}}", "{{feature}}")], "percentunit"),
        ("Data-quality issues", [(f"mainsail_quality_issues{{{sel}}}", "{{check}}")], "short"),
        (
            "Performance",
            [(f"mainsail_performance{{{sel}}}", "{{metric}} v{{model_version}}")],
            "short",
        ),
        (
            "Label coverage",
            [(f"mainsail_label_coverage{{{sel}}}", "{{endpoint}} v{{model_version}}")],
            "percentunit",
        ),
        (
            "Latency",
            [
                (f'mainsail_latency_ms{{{sel},quantile="{q}"}}', f"{q} {{{{endpoint}}}}")
                for q in ("p50", "p90", "p99")
            ],
            "ms",
        ),
        ("Error rate", [(f"mainsail_error_rate{{{sel}}}", "{{endpoint}}")], "percentunit"),
        ("Throughput", [(f"mainsail_throughput_rps{{{sel}}}", "{{endpoint}}")], "reqps"),
        (
            "Firing alerts",
            [(f"sum by (severity) (mainsail_alerts_firing{{{sel}}})", "{{severity}}")],
            "short",
        ),
        (
            "Minutes since last monitor run",
            [
                (
                    f"(time() - mainsail_monitor_last_run_timestamp_seconds{{{sel}}}) / 60",
                    "{{endpoint}}/{{monitor}}",
                )
            ],
            "m",
        ),
    ]
    panels = [
        _panel(i + 1, t, exprs, 12 * (i % 2), 8 * (i // 2), unit)
        for i, (t, exprs, unit) in enumerate(specs)
    ]
    return {
        "title": title,
        "uid": "mainsail-monitoring",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "tags": ["mainsail", "mlops"],
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "timezone": "",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                },
                {
                    "name": "endpoint",
                    "type": "query",
                    "label": "Endpoint",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": {
                        "query": "label_values(mainsail_monitor_status, endpoint)",
                        "refId": "endpoints",
                    },
                    "definition": "label_values(mainsail_monitor_status, endpoint)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


__all__ = ["grafana_dashboard"]
