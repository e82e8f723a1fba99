"""A self-contained HTML report of an :class:`Explanation` (charts embedded as PNG).

Sections: what was explained (method, output space, additivity), global importance (mean
|attribution|), a beeswarm summary (each row's attribution, coloured by the feature's value),
dependence plots for the top features (value against attribution) and local waterfalls for
a few rows (from the base value, feature by feature, to the model's output).

Charts are drawn with matplotlib's object API (no pyplot state, so reports can be written
from several threads) and the Agg renderer; the file loads nothing from the network.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError
from mainsail.core._optional import import_optional
from mainsail.explanations._explanation import Explanation

_POS, _NEG = "#d62728", "#1f77b4"


def _figure(width: float, height: float) -> Any:
    import_optional("matplotlib", extra="plot")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _short(value: Any, width: int = 18) -> str:
    if isinstance(value, float | np.floating):
        text = "NaN" if np.isnan(value) else f"{value:.4g}"
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _numeric(s: pd.Series) -> np.ndarray:
    """A column as numbers for colouring and plotting: category codes for non-numbers."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    codes = pd.Categorical(s.astype(object)).codes.astype("float64")
    codes[codes < 0] = np.nan
    return codes


def _importance_chart(e: Explanation, top: list[str]) -> str:
    fig = _figure(7, 0.35 * len(top) + 1.2)
    ax = fig.add_subplot()
    ypos = np.arange(len(top))[::-1]
    index = [e.feature_names.index(f) for f in top]
    left = np.zeros(len(top))
    for k, name in enumerate(e.outputs):
        width = np.abs(e._values[:, index, k]).mean(axis=0)
        ax.barh(ypos, width, left=left, label=name if e.n_outputs > 1 else None)
        left += width
    ax.set_yticks(ypos, top)
    ax.set_xlabel(f"mean |attribution| ({e.output_space})")
    if e.n_outputs > 1:
        ax.legend(title="output", fontsize="small")
    return _png(fig)


def _beeswarm_chart(e: Explanation, k: int, top: list[str]) -> str:
    fig = _figure(7, 0.4 * len(top) + 1.4)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)  # the jitter: the same report for the same explanation
    scatter = None
    for pos, name in zip(np.arange(len(top))[::-1], top, strict=True):
        j = e.feature_names.index(name)
        attr = e._values[:, j, k]
        raw = _numeric(e.data[name])
        finite = np.isfinite(raw)
        colour = np.full(len(raw), np.nan)
        if finite.any():
            ranks = pd.Series(raw[finite]).rank(pct=True).to_numpy()
            colour[finite] = ranks
        y = pos + rng.uniform(-0.3, 0.3, size=len(attr))
        ax.scatter(attr[~finite], y[~finite], s=8, c="#999999", alpha=0.7)
        scatter = ax.scatter(
            attr[finite], y[finite], s=8, c=colour[finite], cmap="coolwarm", vmin=0, vmax=1
        )
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(np.arange(len(top))[::-1], top)
    ax.set_xlabel(f"attribution to {e.outputs[k]} ({e.output_space})")
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    return _png(fig)


def _dependence_chart(e: Explanation, k: int, name: str) -> str:
    fig = _figure(4.2, 3.2)
    ax = fig.add_subplot()
    j = e.feature_names.index(name)
    s = e.data[name]
    x = _numeric(s)
    ax.scatter(x, e._values[:, j, k], s=8, alpha=0.6, color=_NEG)
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        cats = list(pd.Categorical(s.astype(object)).categories)[:20]
        ax.set_xticks(range(len(cats)), [_short(c, 10) for c in cats], rotation=45, ha="right")
    ax.axhline(0, color="#555555", lw=0.8)
    ax.set_xlabel(name)
    ax.set_ylabel("attribution")
    return _png(fig)


def _waterfall_chart(e: Explanation, k: int, row: int, max_features: int = 10) -> str:
    vals = e._values[row, :, k]
    base = float(e._base[row, k])
    order = np.argsort(-np.abs(vals), kind="stable")
    shown = order[:max_features]
    steps = [
        (f"{e.feature_names[j]} = {_short(e.data.iloc[row, j])}", float(vals[j])) for j in shown
    ]
    if len(order) > max_features:
        steps.append(
            (f"{len(order) - max_features} other features", float(vals[order[max_features:]].sum()))
        )
    fig = _figure(7, 0.35 * len(steps) + 1.4)
    ax = fig.add_subplot()
    start = base
    ends = [base, float(e._output[row, k])]
    for pos, (_, delta) in zip(range(len(steps) - 1, -1, -1), steps, strict=True):
        ax.barh(pos, delta, left=start, color=_POS if delta >= 0 else _NEG)
        ax.annotate(
            f"{delta:+.3g}",
            (start + delta, pos),
            xytext=(3 if delta >= 0 else -3, 0),
            textcoords="offset points",
            ha="left" if delta >= 0 else "right",
            va="center",
            fontsize="small",
        )
        start += delta
        ends.append(start)
    lo, hi = min(ends), max(ends)
    pad = 0.15 * (hi - lo) or 0.05 * max(abs(hi), 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.axvline(base, color="#555555", lw=0.8, ls="--")
    ax.axvline(float(e._output[row, k]), color="#000000", lw=0.8)
    ax.set_yticks(range(len(steps) - 1, -1, -1), [label for label, _ in steps])
    ax.set_xlabel(
        f"{e.output_space}: base {base:.4g} (dashed) -> output {float(e._output[row, k]):.4g}"
    )
    return _png(fig)


def _local_rows(e: Explanation, k: int, n: int) -> list[int]:
    """The rows of lowest, median and highest output (then others), up to ``n`` distinct."""
    order = np.argsort(e._output[:, k], kind="stable")
    picks = [order[0], order[len(order) // 2], order[-1], *order]
    seen: list[int] = []
    for r in picks:
        if int(r) not in seen:
            seen.append(int(r))
        if len(seen) == n:
            break
    return seen


def write_report(
    explanation: Explanation,
    path: str | os.PathLike[str],
    output: Any = None,
    top_k: int = 10,
    dependence: int = 3,
    local: int = 3,
    title: str | None = None,
) -> Path:
    """Write an HTML report of ``explanation`` to ``path`` and return the path.

    Parameters
    ----------
    explanation : Explanation
    path : str or path-like
        The ``.html`` file to write (its folder must exist).
    output : str or int, optional
        Which output the summary, dependence and local charts show, for a multiclass
        explanation (default: the first). The importance chart shows every output.
    top_k : int, default 10
        Features in the importance and summary charts.
    dependence : int, default 3
        Dependence plots, for the most important features.
    local : int, default 3
        Local waterfalls (rows of lowest, median and highest output first).
    title : str, optional

    Examples
    --------
    >>> write_report(explanation, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    if not isinstance(explanation, Explanation):
        raise InvalidValueError(
            f"Expected an Explanation (from mainsail.explanations.explain). "
            f"Got {type(explanation).__name__}."
        )
    e = explanation
    k = e.output_index(output if output is not None or e.n_outputs == 1 else 0)
    importance = e.global_importance()
    top = list(importance.index[: max(1, top_k)])
    own = e.global_importance(k)
    dep = list(own.index[: max(0, dependence)])
    esc = html.escape
    name = title or f"Explanation of {e.model or 'a model'}"
    facts = [
        ("model", e.model or "-"),
        ("method", f"{e.method} ({'exact' if e.exact else 'approximate'})"),
        ("output space", e.output_space),
        ("outputs", ", ".join(e.outputs)),
        ("rows x features", f"{len(e)} x {len(e.feature_names)}"),
        ("additivity error (max)", f"{e.additivity_error:.3g}"),
        ("background rows", "-" if e.background_rows is None else str(e.background_rows)),
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;"
        "border-bottom:1px solid #ddd}img{max-width:100%}.grid{display:flex;flex-wrap:wrap;"
        "gap:8px}</style></head><body>",
        f"<h1>{esc(name)}</h1><table>",
        *(f"<tr><th>{esc(a)}</th><td>{esc(b)}</td></tr>" for a, b in facts),
        "</table>",
        "<h2>Global importance</h2>",
        "<p>Mean |attribution| over the explained rows"
        + (" (stacked by output)" if e.n_outputs > 1 else "")
        + ".</p>",
        f"<img alt='global importance' src='data:image/png;base64,{_importance_chart(e, top)}'>",
        f"<h2>Summary: attributions to {esc(e.outputs[k])}</h2>",
        "<p>One dot per row; colour: the feature's value (rank within the rows).</p>",
        f"<img alt='summary' src='data:image/png;base64,{_beeswarm_chart(e, k, top)}'>",
    ]
    if dep:
        parts.append("<h2>Dependence</h2><div class='grid'>")
        parts += [
            f"<img alt='dependence {esc(f)}' "
            f"src='data:image/png;base64,{_dependence_chart(e, k, f)}'>"
            for f in dep
        ]
        parts.append("</div>")
    rows = _local_rows(e, k, max(0, local))
    if rows:
        parts.append("<h2>Local explanations</h2>")
        for r in rows:
            label = e.data.index[r]
            parts.append(f"<h3>Row {esc(str(label))}</h3>")
            parts.append(
                f"<img alt='waterfall row {esc(str(label))}' "
                f"src='data:image/png;base64,{_waterfall_chart(e, k, r)}'>"
            )
    parts.append("</body></html>")
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)  # a reader never sees half a report
    return out


__all__ = ["write_report"]
