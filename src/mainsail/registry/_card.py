"""Model cards, in Markdown and standalone HTML, generated from a version's metadata."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from mainsail.core._capacity import Prices, cost_per_1k, curves_of
from mainsail.core._registry_schemas import ModelVersion

CARD_FIELDS = ("intended_use", "limitations", "ethical_considerations", "owners")


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _capacity(v: ModelVersion, prices: Prices | None) -> tuple[str, Any] | None:
    """Capacity and cost: each stored load-test curve's peak, and what 1,000 predictions cost
    on one replica running at that peak (its measured CPU and memory at the prices)."""
    curves = curves_of(v.card)
    if not curves:
        return None
    prices = prices or Prices()
    rows = []
    for c in curves:
        p = c.peak()
        if p is None:
            continue
        text = (
            f"peak {p.rps:,.0f} requests/s ({p.rows_per_s:,.0f} rows/s) at concurrency "
            f"{p.concurrency}: p50 {p.p50_ms or 0:.1f} ms, p99 {p.p99_ms or 0:.1f} ms, "
            f"errors {p.error_rate:.1%}"
        )
        if p.vcpu is not None and p.memory_gb is not None:
            hourly = prices.hourly(p.vcpu, p.memory_gb, 1)
            per_1k = cost_per_1k(hourly, p.rows_per_s)
            text += f"; {p.vcpu:.2f} vCPU, {p.memory_gb * 1024:.0f} MB"
            if per_1k is not None:
                text += f"; {per_1k:.3g} {prices.currency} per 1,000 predictions at that load"
        rows.append((f"{c.workers or '?'} worker(s), {_when(c.created_at)}", text))
    return ("Capacity and cost", rows) if rows else None


def _sections(v: ModelVersion) -> list[tuple[str, Any]]:
    card = v.card or {}
    sig = v.signature.get("inputs", {}).get("columns", [])
    return [
        (
            "Intended use",
            card.get("intended_use") or "_Not stated. Set it with `card={'intended_use': ...}`._",
        ),
        ("Limitations", card.get("limitations") or "_Not stated._"),
        (
            "Model",
            [
                ("address", v.address),
                ("flavor", v.flavor),
                ("task", v.task),
                ("classes", ", ".join(map(str, v.classes)) if v.classes else "-"),
                ("status", v.status),
                ("aliases", ", ".join(v.aliases) or "-"),
                ("registered", f"{_when(v.created_at)} by {v.created_by or '-'}"),
                ("size", f"{v.size_bytes / 1e6:.2f} MB"),
                ("pickle allowed", "yes" if v.allow_pickle else "no"),
            ],
        ),
        (
            "Metrics",
            sorted((k, f"{m:.6g}") for k, m in v.metrics.items()) or "_No metrics recorded._",
        ),
        (
            "Lineage",
            [
                ("run", v.run_id or "-"),
                ("datasets", ", ".join(v.datasets) or "-"),
                ("git commit", v.git_commit or "-"),
            ],
        ),
        (
            "Signature",
            [
                (
                    c["name"],
                    c["dtype"]
                    + (" (nullable)" if c.get("nullable") else "")
                    + (
                        f" in [{c['min']:.4g}, {c['max']:.4g}]"
                        if c.get("min") is not None and c.get("max") is not None
                        else ""
                    )
                    + (f" one of {', '.join(c['categories'][:8])}" if c.get("categories") else ""),
                )
                for c in sig
            ],
        ),
    ]


def _all_sections(v: ModelVersion, prices: Prices | None) -> list[tuple[str, Any]]:
    capacity = _capacity(v, prices)
    return _sections(v) + ([capacity] if capacity else [])


def _importance(v: ModelVersion) -> list[tuple[str, float]]:
    imp = (v.card or {}).get("feature_importance") or {}
    return sorted(imp.items(), key=lambda kv: -kv[1])[:20]


def _global_importance(v: ModelVersion) -> tuple[list[tuple[str, float]], str]:
    """Mean |SHAP| bars (top 20) and the sentence that says how they were measured."""
    record = (v.card or {}).get("global_importance") or {}
    if not record:
        return [], ""
    if "skipped" in record:
        return [], f"Not measured: {record['skipped']}"
    bars = sorted(record.get("features", {}).items(), key=lambda kv: -kv[1])[:20]
    how = (
        f"Mean |attribution| ({record.get('output_space')} space) by the "
        f"{record.get('method')} method ({'exact' if record.get('exact') else 'approximate'}) "
        f"on {record.get('rows')} reference rows."
    )
    return bars, how


def _svg_bars(bars: list[tuple[str, float]]) -> str:
    """A horizontal bar chart as inline SVG (the card stays one self-contained file)."""
    esc = html.escape
    top = max((val for _, val in bars), default=0.0) or 1.0
    row, label_w, bar_w = 22, 180, 420
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='global importance' "
        f"width='{label_w + bar_w + 80}' height='{row * len(bars) + 4}' "
        "font-family='system-ui,sans-serif' font-size='12'>"
    ]
    for i, (name, val) in enumerate(bars):
        y = i * row + 2
        width = max(1.0, bar_w * val / top)
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 14}' text-anchor='end'>{esc(short)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{width:.1f}' height='{row - 8}' "
            f"fill='#1f77b4'><title>{esc(name)}: {val:.4g}</title></rect>"
            f"<text x='{label_w + width + 4:.1f}' y='{y + 14}'>{val:.3g}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_markdown(v: ModelVersion, prices: Prices | None = None) -> str:
    lines = [f"# Model card: {v.name} v{v.version}", ""]
    if v.description:
        lines += [v.description, ""]
    for title, body in _all_sections(v, prices):
        lines.append(f"## {title}")
        if isinstance(body, str):
            lines.append(body)
        else:
            lines += ["| | |", "|---|---|"] + [f"| {k} | {val} |" for k, val in body]
        lines.append("")
    imp = _importance(v)
    if imp:
        lines += ["## Feature importance", "| feature | importance |", "|---|---|"]
        lines += [f"| {k} | {val:.4g} |" for k, val in imp]
        lines.append("")
    bars, how = _global_importance(v)
    if how:
        lines += ["## Global importance (mean |SHAP|)", how, ""]
    if bars:
        top = max(val for _, val in bars) or 1.0
        lines += ["| feature | mean abs attribution | |", "|---|---|---|"]
        lines += [f"| {k} | {val:.4g} | {'█' * max(1, round(20 * val / top))} |" for k, val in bars]
        lines.append("")
    return "\n".join(lines)


def render_html(v: ModelVersion, prices: Prices | None = None) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Model card: {esc(v.name)} v{v.version}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:920px;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;"
        "text-align:left}h2{margin-top:1.6rem;border-bottom:2px solid #0b5;}"
        ".bar{background:#0b5;height:10px;display:inline-block}</style></head><body>",
        f"<h1>Model card: {esc(v.name)} <small>v{v.version}</small></h1>",
    ]
    if v.description:
        parts.append(f"<p>{esc(v.description)}</p>")
    for title, body in _all_sections(v, prices):
        parts.append(f"<h2>{esc(title)}</h2>")
        if isinstance(body, str):
            parts.append(f"<p>{esc(body.strip('_'))}</p>")
        else:
            rows = "".join(
                f"<tr><th>{esc(str(k))}</th><td>{esc(str(val))}</td></tr>" for k, val in body
            )
            parts.append(f"<table>{rows}</table>")
    imp = _importance(v)
    if imp:
        top = max(val for _, val in imp) or 1.0
        rows = "".join(
            f"<tr><th>{esc(k)}</th><td><span class='bar' style='width:{300 * val / top:.0f}px'></span> "
            f"{val:.4g}</td></tr>"
            for k, val in imp
        )
        parts.append(f"<h2>Feature importance</h2><table>{rows}</table>")
    bars, how = _global_importance(v)
    if how:
        parts.append(f"<h2>Global importance (mean |SHAP|)</h2><p>{esc(how)}</p>")
    if bars:
        parts.append(_svg_bars(bars))
    parts.append("</body></html>")
    return "".join(parts)
