"""A self-contained HTML page for one pipeline run: steps, why each ran, outputs, inputs."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mainsail.pipelines._records import PipelineRun

_COLORS = {
    "succeeded": "#1a7f37",
    "cached": "#0969da",
    "failed": "#cf222e",
    "skipped": "#8250df",
    "running": "#9a6700",
}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328;max-width:72rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code{font-size:12px}.badge{color:#fff;border-radius:1em;padding:0 .6em}
ul{margin:0;padding-left:1.1rem}pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem}
"""


def _badge(status: str) -> str:
    color = _COLORS.get(status, "#57606a")
    return f'<span class="badge" style="background:{color}">{html.escape(status)}</span>'


def render_html(pr: PipelineRun) -> str:
    """The run as one HTML page (no scripts, no external assets).

    Examples
    --------
    >>> page = render_html(mainsail.get_pipeline_run("3f2a9c"))  # doctest: +SKIP
    """
    e = html.escape
    rows = []
    for s in pr.steps:
        if s.status == "cached":
            why = f"reused outputs of run <code>{e((s.cached_from or '')[:12])}</code>"
        else:
            why = "<ul>" + "".join(f"<li>{e(r)}</li>" for r in s.reason) + "</ul>"
        inputs = "<br>".join(
            f"{e(k)} = <code>{e(v['from'])} {e(v['digest'][:12])}</code>"
            if "digest" in v
            else f"{e(k)} = <code>{e(repr(v.get('value')))}</code>"
            for k, v in s.inputs.items()
        )
        outputs = "<br>".join(
            f"{e(k)}: <code>{e(m['digest'][:12])}</code> {e(m.get('format', ''))}"
            f" {m.get('size', 0):,} B"
            for k, m in s.output_meta.items()
        )
        dur = f"{s.duration_s:.2f}" if s.duration_s is not None else "-"
        err = f"<pre>{e(s.error)}</pre>" if s.error else ""
        rows.append(
            f"<tr><td><b>{e(s.step)}</b></td><td>{_badge(s.status)}</td><td>{dur}</td>"
            f"<td>{why}{err}</td><td>{inputs}</td><td>{outputs}</td></tr>"
        )
    dur = f"{pr.duration_s:.2f} s" if pr.duration_s is not None else "-"
    error = f"<p><b>Error:</b> {e(pr.error)}</p>" if pr.error else ""
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Pipeline run {e(pr.id[:12])} · {e(pr.pipeline)}</title><style>{_CSS}</style></head><body>
<h1>{e(pr.pipeline)} {_badge(pr.status)}</h1>
<p>Pipeline run <code>{e(pr.id)}</code> · tracking run <code>{e(str(pr.run_id))}</code> ·
executor {e(pr.executor)} · {dur}</p>
<p>Params: <code>{e(repr(pr.params))}</code>{" · Trigger: <code>" + e(repr(pr.trigger)) + "</code>" if pr.trigger else ""}</p>
{error}
<table><tr><th>step</th><th>status</th><th>s</th><th>why it ran</th><th>inputs</th>
<th>outputs</th></tr>{"".join(rows)}</table></body></html>
"""


def write_html(pr: PipelineRun, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(pr), encoding="utf-8")
    return out
