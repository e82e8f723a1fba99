"""Prometheus gauges from the latest monitor results, a Grafana dashboard and alert rules.

:func:`render_prometheus` reads the newest result of every monitor from the store and
renders the text exposition format (no client library needed); :class:`MonitoringCollector`
yields the same gauges to a ``prometheus_client`` registry. Labels: ``endpoint``,
``model_version``, ``feature``, ``test`` (and ``metric``, ``check``, ``quantile`` where
they apply). :func:`grafana_dashboard` and :func:`prometheus_rules` are written against
exactly these names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainsail.store import _tables as T

if TYPE_CHECKING:
    from mainsail.store._context import Context

Sample = tuple[str, dict[str, str], float]

#: name -> help. Every gauge the exporter writes, and only these.
GAUGES: dict[str, str] = {
    "mainsail_drift_score": "Drift statistic of a feature (per test), latest monitor run",
    "mainsail_drift_effect_size": "Drift effect size of a feature, latest monitor run",
    "mainsail_drift_detected": "1 if the feature drifted in the latest monitor run",
    "mainsail_drift_p_value": "BH-adjusted p-value of the feature's drift test",
    "mainsail_prediction_drift_score": "Drift statistic of the model's predictions",
    "mainsail_dataset_drift_share": "Share of drifted features in the latest monitor run",
    "mainsail_dataset_drift": "1 if the dataset drifted (share >= the monitor's drift_share)",
    "mainsail_missing_ratio": "Share of missing values of a feature in live traffic",
    "mainsail_quality_issues": "Data-quality issues by check in the latest monitor run",
    "mainsail_performance": "Model performance on labelled live traffic, by metric",
    "mainsail_performance_delta": "Performance minus the model version's reference metric",
    "mainsail_label_coverage": "Share of predictions in the window that have a label",
    "mainsail_latency_ms": "Request latency quantiles over the monitor window (ms)",
    "mainsail_error_rate": "Share of failed requests over the monitor window",
    "mainsail_throughput_rps": "Requests per second over the monitor window",
    "mainsail_monitor_status": "1 for the status of the latest monitor run",
    "mainsail_monitor_last_run_timestamp_seconds": "When the monitor last ran",
    "mainsail_alerts_firing": "Firing alerts by endpoint and severity",
}


def _latest(ctx: Context) -> list[tuple[str, str, dict[str, Any], int]]:
    r, m = T.monitor_results.c, T.monitors.c
    newest = (
        sa.select(r.monitor_id, sa.func.max(r.id).label("rid")).group_by(r.monitor_id).subquery()
    )
    q = sa.select(m.endpoint, m.name, r.result, r.ts).select_from(
        T.monitor_results.join(newest, r.id == newest.c.rid).join(T.monitors, m.id == r.monitor_id)
    )
    with ctx.database().db.read() as conn:
        return [(e, n, res, ts) for e, n, res, ts in conn.execute(q)]


def samples(ctx: Context) -> list[Sample]:
    """Every gauge sample, from the newest result of each monitor and the open alerts."""
    out: list[Sample] = []
    for endpoint, name, res, ts in _latest(ctx):
        mv = str(res.get("model_version") or "")
        base = {"endpoint": endpoint, "model_version": mv}
        out.append(
            (
                "mainsail_monitor_last_run_timestamp_seconds",
                {"endpoint": endpoint, "monitor": name},
                ts / 1000,
            )
        )
        for st in ("ok", "warning", "failed", "no_data"):
            out.append(
                (
                    "mainsail_monitor_status",
                    {"endpoint": endpoint, "monitor": name, "status": st},
                    float(res.get("status") == st),
                )
            )
        d = res.get("drift")
        if d:
            out.append(("mainsail_dataset_drift_share", base, float(d["share_drifted"])))
            out.append(("mainsail_dataset_drift", base, float(d["dataset_drift"])))
            for c in d["columns"]:
                lab = {**base, "feature": c["column"], "test": c["test"]}
                out.append(("mainsail_drift_score", lab, float(c["statistic"])))
                out.append(("mainsail_drift_effect_size", lab, float(c["effect_size"])))
                out.append(("mainsail_drift_detected", lab, float(c["drifted"])))
                if c.get("p_adjusted") is not None:
                    out.append(("mainsail_drift_p_value", lab, float(c["p_adjusted"])))
            if d.get("prediction"):
                p = d["prediction"]
                out.append(
                    (
                        "mainsail_prediction_drift_score",
                        {**base, "test": p["test"]},
                        float(p["statistic"]),
                    )
                )
        q = res.get("quality")
        if q:
            for feat, rate in q["missing_rates"].items():
                out.append(("mainsail_missing_ratio", {**base, "feature": feat}, float(rate)))
            counts: dict[str, int] = dict.fromkeys(
                ("schema", "type", "missing", "range", "unseen"), 0
            )
            for i in q["issues"]:
                counts[i["check"]] = counts.get(i["check"], 0) + 1
            for check, k in counts.items():
                out.append(("mainsail_quality_issues", {**base, "check": check}, float(k)))
        p = res.get("performance")
        if p:
            out.append(("mainsail_label_coverage", base, float(p["coverage"])))
            for metric, v in p["metrics"].items():
                if v is not None:
                    out.append(("mainsail_performance", {**base, "metric": metric}, float(v)))
                    if metric in p.get("reference", {}):
                        delta = float(v) - float(p["reference"][metric])
                        out.append(
                            ("mainsail_performance_delta", {**base, "metric": metric}, delta)
                        )
        o = res.get("operational")
        if o:
            for quant, v in o["latency_ms"].items():
                if v is not None:
                    out.append(("mainsail_latency_ms", {**base, "quantile": quant}, float(v)))
            if o.get("error_rate") is not None:
                out.append(("mainsail_error_rate", base, float(o["error_rate"])))
            out.append(("mainsail_throughput_rps", base, float(o["throughput_rps"])))
    a = T.alerts.c
    q_alerts = (
        sa.select(a.endpoint, a.severity, sa.func.count())
        .where(a.state == "firing")
        .group_by(a.endpoint, a.severity)
    )
    with ctx.database().db.read() as conn:
        for endpoint, severity, k in conn.execute(q_alerts):
            out.append(
                (
                    "mainsail_alerts_firing",
                    {"endpoint": endpoint or "", "severity": severity},
                    float(k),
                )
            )
    return out


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_prometheus(ctx: Context) -> bytes:
    """The text exposition (``text/plain; version=0.0.4``) of every monitoring gauge.

    Examples
    --------
    >>> from mainsail.monitoring import render_prometheus
    >>> print(render_prometheus(ctx).decode())  # doctest: +SKIP
    # HELP mainsail_dataset_drift_share Share of drifted features ...
    """
    by_name: dict[str, list[Sample]] = {}
    for s in samples(ctx):
        by_name.setdefault(s[0], []).append(s)
    lines: list[str] = []
    for name, help_text in GAUGES.items():
        if name not in by_name:
            continue
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for _, labels, value in by_name[name]:
            lab = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{lab}}} {value!r}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


class MonitoringCollector:
    """A ``prometheus_client`` collector: ``REGISTRY.register(MonitoringCollector(ctx))``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        by_name: dict[str, list[Sample]] = {}
        for s in samples(self.ctx):
            by_name.setdefault(s[0], []).append(s)
        for name, items in by_name.items():
            keys = sorted(items[0][1])
            fam = GaugeMetricFamily(name, GAUGES[name], labels=keys)
            for _, labels, value in items:
                fam.add_metric([str(labels.get(k, "")) for k in keys], value)
            yield fam


# -- Grafana ------------------------------------------------------------------------------
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
