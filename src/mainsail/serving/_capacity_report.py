"""The capacity curve as a standalone HTML page: an SVG chart and the table of steps.

The chart plots throughput (x) against p50 and p99 latency (y), one marker per load step,
labelled with its concurrency (or target rate): where the p99 line turns up is the server's
capacity. No JavaScript and no plotting library: the page is one file that opens anywhere.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any

from mainsail.core._capacity import CapacityCurve, CapacityPoint

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 360, 64, 24, 20, 48


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _ticks(hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 times a power of ten) from 0 past ``hi``."""
    if hi <= 0:
        return [0.0]
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(hi / step) + 2)]


def _label(p: CapacityPoint) -> str:
    return f"{p.target_rps:g}/s" if p.target_rps is not None else f"c={p.concurrency}"


def chart_svg(curve: CapacityCurve, p99_budget_ms: float | None = None) -> str:
    """An SVG line chart: throughput (requests/s) vs p50 and p99 latency (ms)."""
    pts = [p for p in curve.points if p.requests > 0 and p.p99_ms is not None]
    if not pts:
        return "<p>No step completed a request: nothing to chart.</p>"
    x_hi = max(p.rps for p in pts) * 1.1 or 1.0
    y_hi = max([p.p99_ms or 0.0 for p in pts] + [p99_budget_ms or 0.0]) * 1.15 or 1.0
    xt, yt = _ticks(x_hi), _ticks(y_hi)
    x_hi, y_hi = max(x_hi, xt[-1]), max(y_hi, yt[-1])

    def sx(v: float) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * v / x_hi

    def sy(v: float) -> float:
        return H - PAD_B - (H - PAD_T - PAD_B) * v / y_hi

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" aria-label="capacity curve">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" '
        f'height="{H - PAD_T - PAD_B}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for v in xt:
        if v <= x_hi:
            out.append(
                f'<text x="{sx(v):.1f}" y="{H - PAD_B + 16}" font-size="11" '
                f'text-anchor="middle">{v:g}</text>'
            )
    for v in yt:
        if v <= y_hi:
            out.append(
                f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" '
                f'stroke="#eee"/><text x="{PAD_L - 6}" y="{sy(v) + 4:.1f}" font-size="11" '
                f'text-anchor="end">{v:g}</text>'
            )
    out.append(
        f'<text x="{(W + PAD_L) / 2}" y="{H - 10}" font-size="12" text-anchor="middle">'
        "throughput (requests/s)</text>"
        f'<text x="14" y="{H / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {H / 2})">latency (ms)</text>'
    )
    if p99_budget_ms is not None:
        out.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(p99_budget_ms):.1f}" '
            f'y2="{sy(p99_budget_ms):.1f}" stroke="#c00" stroke-dasharray="6 4"/>'
            f'<text x="{W - PAD_R - 4}" y="{sy(p99_budget_ms) - 4:.1f}" font-size="11" '
            f'fill="#c00" text-anchor="end">p99 budget {p99_budget_ms:g} ms</text>'
        )
    ordered = sorted(pts, key=lambda p: p.rps)
    for key, colour in (("p50_ms", "#1f77b4"), ("p99_ms", "#d62728")):
        xy = [(sx(p.rps), sy(getattr(p, key) or 0.0)) for p in ordered]
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            + '"/>'
        )
        for (x, y), p in zip(xy, ordered, strict=True):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{html.escape(_label(p))}: {p.rps:.0f} req/s, {key[:3]} "
                f"{getattr(p, key):.2f} ms</title></circle>"
            )
            if key == "p99_ms":
                out.append(
                    f'<text x="{x + 5:.1f}" y="{y - 6:.1f}" font-size="10">'
                    f"{html.escape(_label(p))}</text>"
                )
    out.append(
        f'<text x="{PAD_L + 8}" y="{PAD_T + 14}" font-size="11" fill="#1f77b4">p50</text>'
        f'<text x="{PAD_L + 40}" y="{PAD_T + 14}" font-size="11" fill="#d62728">p99</text>'
    )
    out.append("</svg>")
    return "".join(out)


def point_rows(curve: CapacityCurve) -> list[list[Any]]:
    """One row per step: the columns of :data:`POINT_COLUMNS`."""
    rows = []
    for p in curve.points:
        rows.append(
            [
                _label(p),
                round(p.rps, 1),
                round(p.rows_per_s, 1),
                _fmt(p.p50_ms),
                _fmt(p.p99_ms),
                f"{p.errors} ({p.error_rate:.1%})",
                " ".join(f"{c:.0f}%" for c in p.cpu_percent) or "-",
                " ".join(f"{m:.0f}" for m in p.memory_mb) or "-",
                _fmt(p.generator_cpu_percent, 2) + ("%" if p.generator_cpu_percent else ""),
            ]
        )
    return rows


POINT_COLUMNS = [
    "load",
    "req/s",
    "rows/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "CPU per worker",
    "RSS MB per worker",
    "generator CPU",
]


def render_html(curve: CapacityCurve, p99_budget_ms: float | None = None, extra: str = "") -> str:
    """A standalone page: what was tested, the chart, the steps, and any shortfall."""
    when = dt.datetime.fromtimestamp(curve.created_at / 1000, tz=dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    who = f"{curve.model} v{curve.version}" if curve.model else curve.target
    head = "".join(f"<th>{html.escape(c)}</th>" for c in POINT_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in point_rows(curve)
    )
    short = [p.shortfall for p in curve.points if p.shortfall]
    notes = (
        "<h2>Rates not delivered</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in short)
        + "</ul>"
        if short
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>Capacity: {html.escape(who)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;"
        "text-align:right}th{background:#f4f4f4}</style></head><body>"
        f"<h1>Capacity curve: {html.escape(who)}</h1>"
        f"<p>Target {html.escape(curve.target)}; {curve.workers or '?'} worker(s); "
        f"{curve.rows_per_request} row(s) per request; {curve.mode} steps; generator "
        f"{html.escape(curve.generator)}; {curve.cpu_count or '?'} CPU(s); {when}.</p>"
        f"{chart_svg(curve, p99_budget_ms)}"
        f"<h2>Steps</h2><table><tr>{head}</tr>{body}</table>{notes}{extra}"
        "</body></html>"
    )


__all__ = ["POINT_COLUMNS", "chart_svg", "point_rows", "render_html"]
