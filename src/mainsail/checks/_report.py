"""Check reports: a Rich table for the terminal, self-contained HTML, Markdown for CI."""

from __future__ import annotations

import html as _html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from rich.console import Console

    from mainsail.checks._types import CheckResult

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700"}
_ICONS = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_html(result: CheckResult) -> str:
    e = _html.escape
    rows = []
    for c in result.checks:
        colour = _COLOURS[c.status]
        slices = ""
        table = c.data.get("slices") if isinstance(c.data, dict) else None
        if table:
            inner = "".join(
                f"<tr><td>{e(str(s['slice']))}</td><td>{s['n']}</td><td>{_fmt(s['value'])}</td></tr>"
                for s in table
            )
            slices = (
                f"<details><summary>{len(table)} slices</summary><table class='inner'>"
                f"<tr><th>slice</th><th>rows</th><th>{e(str(c.data.get('metric', '')))}</th></tr>"
                f"{inner}</table></details>"
            )
        rows.append(
            f"<tr><td><code>{e(c.name)}</code></td><td>{e(c.kind)}</td>"
            f"<td style='color:{colour};font-weight:600'>{c.status}</td>"
            f"<td>{_fmt(c.value)}</td><td>{_fmt(c.threshold)}</td>"
            f"<td>{e(c.detail)}{slices}</td></tr>"
        )
    verdict_colour = _COLOURS["pass" if result.blessed else "fail"]
    counts = result.summary.get("counts", {})
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Release checks: {e(result.address)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}}
table{{border-collapse:collapse;width:100%}} td,th{{border-bottom:1px solid #d0d7de;padding:.4rem .6rem;
text-align:left;vertical-align:top}} th{{background:#f6f8fa}} table.inner{{width:auto;margin-top:.4rem}}
.verdict{{font-size:1.4rem;font-weight:700;color:{verdict_colour}}} .meta{{color:#59636e}}
</style></head><body>
<h1>Release checks: {e(result.address)}</h1>
<p class="verdict">{result.verdict.upper()}</p>
<p>{e(result.reason)}</p>
<p class="meta">data {e(str(result.data_ref))} · rows {result.summary.get("rows", "-")} ·
baseline {e(str(result.summary.get("baseline") or "none"))} · {counts.get("pass", 0)} pass,
{counts.get("fail", 0)} fail, {counts.get("inconclusive", 0)} inconclusive ·
{result.summary.get("seconds", "-")} s</p>
<table><tr><th>check</th><th>kind</th><th>status</th><th>value</th><th>threshold</th><th>detail</th></tr>
{"".join(rows)}
</table>
<h2>Policy</h2><pre>{e(_policy_text(result.policy))}</pre>
</body></html>
"""


def _policy_text(policy: dict[str, Any]) -> str:
    return orjson.dumps(policy, option=orjson.OPT_INDENT_2).decode() if policy else "(none)"


def render_markdown(result: CheckResult) -> str:
    head = (
        f"### Release checks: `{result.address}` — "
        f"{'✅ **blessed**' if result.blessed else '❌ **rejected**'}\n\n{result.reason}\n\n"
    )
    lines = ["| check | status | value | threshold | detail |", "|---|---|---|---|---|"]
    for c in result.checks:
        detail = c.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| `{c.name}` | {_ICONS[c.status]} {c.status} | {_fmt(c.value)} | "
            f"{_fmt(c.threshold)} | {detail} |"
        )
    foot = (
        f"\n\nData `{result.data_ref}`, {result.summary.get('rows', '-')} rows; baseline "
        f"`{result.summary.get('baseline') or 'none'}`; CheckResult #{result.id}.\n"
    )
    return head + "\n".join(lines) + foot


def print_result(result: CheckResult, console: Console) -> None:
    from rich.table import Table

    style = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}
    t = Table(
        title=f"Release checks: {result.address}", header_style="bold cyan", title_justify="left"
    )
    for col in ("check", "status", "value", "threshold", "detail"):
        t.add_column(col, overflow="fold")
    for c in result.checks:
        t.add_row(
            c.name, f"[{style[c.status]}]{c.status}[/]", _fmt(c.value), _fmt(c.threshold), c.detail
        )
    console.print(t)
    colour = "green" if result.blessed else "red"
    console.print(f"[bold {colour}]{result.verdict.upper()}[/] {result.reason}", highlight=False)


def write_reports(result: CheckResult, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``report.json``, ``report.html`` and ``report.md`` of ``result`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(
        orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    (out / "report.html").write_text(result.html())
    (out / "report.md").write_text(result.markdown())
    return out
