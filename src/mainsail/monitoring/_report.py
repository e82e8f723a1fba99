"""A standalone monitoring report: one HTML file (inline SVG charts, no CDN) plus JSON.

Per-feature distributions (reference against current, on the reference's histogram bins
or categories), the drift table, data-quality issues, and performance and drift over time
from the monitor's stored results.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._durations import parse_duration
from mainsail.data._profile import ColumnProfile, Profile
from mainsail.monitoring._attribution import render_attribution_html
from mainsail.monitoring._evaluate import evaluate_monitor
from mainsail.monitoring._monitors import get_monitor
from mainsail.monitoring._service import MONITORING

if TYPE_CHECKING:
    from mainsail.store._context import Context

_REF, _CUR = "#4c78a8", "#f58518"


def distributions(
    reference: Profile | None, current: Profile | None, top: int = 12
) -> dict[str, Any]:
    """Reference and current shares per bin (numeric) or category, for every common column."""
    out: dict[str, Any] = {}
    if reference is None or current is None:
        return out
    for name, ref in reference.columns.items():
        cur = current.columns.get(name)
        if cur is None:
            continue
        if (
            ref.hist is not None
            and ref.edges is not None
            and cur.hist is not None
            and cur.edges == ref.edges
        ):
            r, c = _shares(ref.hist), _shares(cur.hist)
            labels = [f"{ref.edges[i]:.3g}–{ref.edges[i + 1]:.3g}" for i in range(len(ref.hist))]
            out[name] = {"kind": "numeric", "labels": labels, "reference": r, "current": c}
        elif ref.is_numeric and cur.is_numeric:
            qs = [0.05, 0.25, 0.5, 0.75, 0.95]
            out[name] = {
                "kind": "quantiles",
                "labels": [f"q{int(q * 100)}" for q in qs],
                "reference": [_q(ref, q) for q in qs],
                "current": [_q(cur, q) for q in qs],
            }
        elif ref.values is not None:
            rv, cv = ref.values or {}, cur.values or {}
            keys = sorted(set(rv) | set(cv), key=lambda k: -(rv.get(k, 0) + cv.get(k, 0)))[:top]
            rt, ct = max(sum(rv.values()), 1), max(sum(cv.values()), 1)
            out[name] = {
                "kind": "categorical",
                "labels": keys,
                "reference": [rv.get(k, 0) / rt for k in keys],
                "current": [cv.get(k, 0) / ct for k in keys],
            }
    return out


def _q(p: ColumnProfile, q: float) -> float | None:
    return p.quantile(q)


def _shares(hist: list[int]) -> list[float]:
    total = max(sum(hist), 1)
    return [h / total for h in hist]


def _bars(d: dict[str, Any], width: int = 520, height: int = 170) -> str:
    labels, ref, cur = d["labels"], d["reference"], d["current"]
    vals = [v for v in [*ref, *cur] if v is not None]
    top = max(vals) if vals else 1.0
    top = top or 1.0
    n = max(len(labels), 1)
    slot = (width - 40) / n
    bw = max(slot / 2 - 1, 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    base = height - 30
    for i, lab in enumerate(labels):
        x = 30 + i * slot
        for j, (series, color) in enumerate(((ref, _REF), (cur, _CUR))):
            v = series[i]
            if v is None:
                continue
            h = (base - 10) * (v / top)
            parts.append(
                f'<rect x="{x + j * bw:.1f}" y="{base - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{html.escape(str(lab))}: {v:.4g}</title></rect>'
            )
        if n <= 12 or i % max(n // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bw:.1f}" y="{height - 14}" font-size="9" text-anchor="middle">'
                f"{html.escape(str(lab))[:12]}</text>"
            )
    parts.append(f'<line x1="28" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def _line(points: list[tuple[int, float]], label: str, width: int = 520, height: int = 160) -> str:
    if not points:
        return f"<p class=muted>No {html.escape(label)} history yet.</p>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys + [0.0]), max(ys + [1e-9])
    sx = (width - 60) / (x1 - x0) if x1 > x0 else 0
    sy = (height - 40) / (y1 - y0) if y1 > y0 else 0
    pts = " ".join(f"{50 + (x - x0) * sx:.1f},{height - 20 - (y - y0) * sy:.1f}" for x, y in points)
    dots = "".join(
        f'<circle cx="{50 + (x - x0) * sx:.1f}" cy="{height - 20 - (y - y0) * sy:.1f}" r="2.5" '
        f'fill="{_CUR}"><title>{y:.4g}</title></circle>'
        for x, y in points
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f'<text x="4" y="14" font-size="11">{html.escape(label)} (min {min(ys):.3g}, max {max(ys):.3g})</text>'
        f'<polyline points="{pts}" fill="none" stroke="{_CUR}" stroke-width="1.5"/>{dots}'
        f'<line x1="48" y1="{height - 20}" x2="{width}" y2="{height - 20}" stroke="#999"/></svg>'
    )


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape("-" if v is None else str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1150px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}
th{background:#f4f6f8}.drift{color:#c0392b;font-weight:600}.ok{color:#27ae60}.muted{color:#777}
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #eee;padding:8px;border-radius:6px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def _threshold(drift: dict[str, Any]) -> float:
    # Reports from before the rename call the threshold ``drift_share``.
    return float(drift.get("max_drift_share", drift.get("drift_share", 0.0)))


def render_html(doc: dict[str, Any]) -> str:
    r = doc["result"]
    parts = [
        f"<!doctype html><html><head><meta charset=utf-8><title>Mainsail monitor "
        f"{html.escape(r['endpoint'])}/{html.escape(r['name'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Monitor {html.escape(r['endpoint'])}/{html.escape(r['name'])}</h1>",
        f"<p>Status <b>{html.escape(r['status'])}</b> · model version {html.escape(str(r.get('model_version')))}"
        f" · window {doc['window']} · source {html.escape(str(r.get('source')))}</p>",
    ]
    d = r.get("drift")
    if d:
        parts.append(
            f"<h2>Drift</h2><p>{sum(c['drifted'] for c in d['columns'])}/{len(d['columns'])} features drifted "
            f"({d['share_drifted']:.0%}; dataset drift at {_threshold(d):.0%}: "
            f"<b>{'YES' if d['dataset_drift'] else 'no'}</b>)</p>"
        )
        cols = [*d["columns"], *([d["prediction"]] if d.get("prediction") else [])]
        parts.append(
            _table(
                [
                    "column",
                    "kind",
                    "test",
                    "statistic",
                    "effect",
                    "p (BH)",
                    "n ref",
                    "n cur",
                    "verdict",
                ],
                [
                    [
                        c["column"],
                        c["kind"],
                        c["test"],
                        c["statistic"],
                        c["effect_size"],
                        c.get("p_adjusted"),
                        c["n_reference"],
                        c["n_current"],
                        "DRIFT" if c["drifted"] else "ok",
                    ]
                    for c in cols
                ],
            )
        )
    dists = doc.get("distributions") or {}
    if dists:
        parts.append(
            f'<h2>Distributions</h2><p class=legend><span style="background:{_REF}"></span>reference'
            f'<span style="background:{_CUR}"></span>current</p><div class=grid>'
        )
        verdicts = {c["column"]: c["drifted"] for c in (d or {}).get("columns", [])}
        for name, dist in dists.items():
            cls = "drift" if verdicts.get(name) else "ok"
            parts.append(
                f"<div class=card><div class={cls}>{html.escape(name)}</div>{_bars(dist)}</div>"
            )
        parts.append("</div>")
    q = r.get("quality")
    if q:
        parts.append(
            f"<h2>Data quality</h2><p>{len(q['issues'])} issue(s) in {q['rows']} rows.</p>"
        )
        if q["issues"]:
            parts.append(
                _table(
                    ["check", "column", "count", "rate", "examples", "message"],
                    [
                        [
                            i["check"],
                            i["column"],
                            i["count"],
                            i["rate"],
                            i["examples"][:5],
                            i["message"],
                        ]
                        for i in q["issues"]
                    ],
                )
            )
    p = r.get("performance")
    if p:
        parts.append(
            f"<h2>Performance</h2><p>{p['labelled']}/{p['predictions']} predictions labelled "
            f"(coverage {p['coverage']:.1%}, {p.get('late_labels', 0)} late).</p>"
        )
        parts.append(
            _table(
                ["metric", "live", "reference"],
                [[k, v, p["reference"].get(k)] for k, v in p["metrics"].items()],
            )
        )
    o = r.get("operational")
    if o:
        parts.append(
            "<h2>Operational</h2>"
            + _table(
                [
                    "requests",
                    "throughput/s",
                    "error rate",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "replicas",
                    f"cost/hour ({o.get('currency') or '-'})",
                    "cost per 1,000 predictions",
                ],
                [
                    [
                        o["requests"],
                        o["throughput_rps"],
                        o.get("error_rate"),
                        o["latency_ms"].get("p50"),
                        o["latency_ms"].get("p90"),
                        o["latency_ms"].get("p99"),
                        o["replicas"],
                        o.get("cost_per_hour"),
                        o.get("cost_per_1k"),
                    ]
                ],
            )
            + (
                "<p><b>Idle:</b> the endpoint served no request in this window.</p>"
                if o.get("idle")
                else ""
            )
        )
    hist = doc.get("history") or []
    parts.append("<h2>Over time</h2><div class=grid>")
    for key, label in (
        ("drift.share", "drift share"),
        ("performance.accuracy", "accuracy"),
        ("performance.rmse", "RMSE"),
        ("performance.coverage", "label coverage"),
        ("operational.latency_p99_ms", "latency p99 (ms)"),
    ):
        pts = [(h["ts"], h["scores"][key]) for h in hist if key in h["scores"]]
        if pts:
            parts.append(f"<div class=card>{_line(pts, label)}</div>")
    parts.append("</div>")
    if r.get("errors"):
        parts.append(
            "<h2>Errors</h2><ul>"
            + "".join(f"<li>{html.escape(e)}</li>" for e in r["errors"])
            + "</ul>"
        )
    parts.append(render_attribution_html(r.get("attribution"), _table))
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(
    ctx: Context,
    endpoint: str,
    name: str = "default",
    window: str | None = None,
    history: int = 200,
) -> dict[str, Any]:
    """The report's document: the monitor evaluated now (not stored), the distributions it
    compared, and the scores of its last ``history`` stored results. Runs next to the data."""
    monitor = get_monitor(ctx, endpoint, name)
    window_s = parse_duration(window) if window else None
    ev = evaluate_monitor(ctx, monitor, window_s)
    past = ctx.store.monitor_score_series(endpoint, name, limit=history)
    return {
        "endpoint": endpoint,
        "monitor": name,
        "window": window or monitor.spec.window,
        "result": ev.result.to_dict(),
        "distributions": distributions(ev.reference, ev.current),
        "history": [{"ts": h["ts"], "status": h["status"], "scores": h["scores"]} for h in past],
    }


def write_report(
    ctx: Context,
    endpoint: str,
    out: str | Path,
    name: str = "default",
    window: str | None = None,
) -> tuple[Path, Path]:
    """Write ``out`` (HTML) and the same report as JSON next to it (``.json``).

    Examples
    --------
    >>> from mainsail.monitoring import write_report
    >>> write_report(ctx, "churn", "report.html")  # doctest: +SKIP
    (PosixPath('report.html'), PosixPath('report.json'))
    """
    # Evaluated where the live data is (the server, against one), drawn here.
    doc = ctx.service(MONITORING).report(endpoint, name, window)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = (
        out.with_suffix(".json")
        if out.suffix != ".json"
        else out.with_name(out.stem + ".report.json")
    )
    out.write_text(render_html(doc), encoding="utf-8")
    json_path.write_bytes(
        orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    return out, json_path
