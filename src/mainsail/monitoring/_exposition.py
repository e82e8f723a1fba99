"""Prometheus gauges from the latest monitor results and the firing alerts.

:func:`render_prometheus` reads the newest result of every monitor from the store and
renders the text exposition format (no client library needed); :class:`MonitoringCollector`
yields the same gauges to a ``prometheus_client`` registry. Labels: ``endpoint``,
``monitor`` (two monitors of one endpoint are two series), ``model_version``, ``feature``,
``test`` (and ``metric``, ``check``, ``quantile`` where
they apply). The Grafana dashboard (``_grafana``) and the alerting rules
(``_prometheus_rules``) are written against exactly the names in :data:`GAUGES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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
    "mainsail_dataset_drift": "1 if the dataset drifted (share >= the monitor's max_drift_share)",
    "mainsail_missing_ratio": "Share of missing values of a feature in live traffic",
    "mainsail_quality_issues": "Data-quality issues by check in the latest monitor run",
    "mainsail_performance": "Model performance on labelled live traffic, by metric",
    "mainsail_performance_delta": "Performance minus the model version's reference metric",
    "mainsail_label_coverage": "Share of predictions in the window that have a label",
    "mainsail_latency_ms": "Request latency quantiles over the monitor window (ms)",
    "mainsail_error_rate": "Share of failed requests over the monitor window",
    "mainsail_throughput_rps": "Requests per second over the monitor window",
    "mainsail_cost_per_hour": "Live cost per hour of the replicas (CPU, memory) at the prices",
    "mainsail_cost_per_1k_predictions": "Live cost of 1,000 predictions over the monitor window",
    "mainsail_endpoint_idle": "1 if the endpoint served no request in the monitor window",
    "mainsail_monitor_status": "1 for the status of the latest monitor run",
    "mainsail_monitor_last_run_timestamp_seconds": "When the monitor last ran",
    "mainsail_alerts_firing": "Firing alerts by endpoint and severity",
}


def samples(ctx: Context) -> list[Sample]:
    """Every gauge sample, from the newest result of each monitor and the open alerts."""
    store = ctx.database("The Prometheus exposition of monitoring")
    out: list[Sample] = []
    for latest in store.latest_monitor_results():
        endpoint, name, res, ts = (latest[k] for k in ("endpoint", "name", "result", "ts"))
        mv = str(res.get("model_version") or "")
        base = {"endpoint": endpoint, "monitor": name, "model_version": mv}
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
            out.append(("mainsail_endpoint_idle", base, float(bool(o.get("idle")))))
            for key, gauge in (
                ("cost_per_hour", "mainsail_cost_per_hour"),
                ("cost_per_1k", "mainsail_cost_per_1k_predictions"),
            ):
                if o.get(key) is not None:
                    out.append((gauge, base, float(o[key])))
    for row in store.firing_alert_counts():
        labels = {"endpoint": row["endpoint"] or "", "severity": row["severity"]}
        out.append(("mainsail_alerts_firing", labels, float(row["count"])))
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


__all__ = ["GAUGES", "MonitoringCollector", "render_prometheus", "samples"]
