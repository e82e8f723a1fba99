"""Rollout analysis: checks over a variant's own traffic, merged across replicas.

Every check reports its value, threshold and sample count. Too few samples make it
``inconclusive``: neither passed nor failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mainsail.rollout._plan import Plan
from mainsail.rollout._stats import js_divergence
from mainsail.rollout._types import AnalysisCheck, RolloutSpec
from mainsail.serving._variant_stats import MergedStats, merge_rows, prediction_bins

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import ServingStatsStore


_MAX_WINDOW_MS = 300_000  # the longest stats window a replica flushes


def variant_stats(
    store: ServingStatsStore, plan: Plan, step: int, since_ms: int
) -> dict[str, MergedStats]:
    """Each variant of ``plan`` at ``step``: its own model version's serving stats from every
    replica, over the windows that end after ``since_ms``."""
    versions = {
        v.name: str(v.version)
        for v in plan.strategy.variants(plan.stable, plan.target, plan.spec, step)
    }
    rows = [
        r
        for r in store.read_serving_stats(plan.endpoint, since_ms - _MAX_WINDOW_MS)
        if r["window_start"] + int(r["data"].get("window_ms", 0)) > since_ms
        and versions.get(r["variant"]) == str(r["model_version"])
    ]
    return merge_rows(rows)


def window_floor(ms: int, window_ms: int = 1000) -> int:
    return ms // window_ms * window_ms


def feedback_accuracy(
    ctx: Context, endpoint: str, since_ms: int, variants: list[str]
) -> dict[str, tuple[int, int]]:
    """Per variant: (correct, labelled) predictions since ``since_ms``, joined on request id."""
    import orjson
    import pandas as pd

    from mainsail.serving._predlog import read_segments

    root = ctx.settings.resolved_artifact_root()
    preds = read_segments(root, "predictions", endpoint)
    fb = read_segments(root, "feedback", endpoint)
    out = {v: (0, 0) for v in variants}
    if preds.empty or fb.empty or "variant" not in preds or "prediction" not in preds:
        return out
    preds = preds[(preds["ts"] >= since_ms) & preds["variant"].isin(variants)]
    if "row" in preds:
        preds = preds[preds["row"] == 0]  # feedback labels a request (its first row)
    labels = fb.drop_duplicates("request_id", keep="last")[["request_id", "label"]]
    joined = preds.merge(labels, on="request_id", how="inner")
    if joined.empty:
        return out
    decoded = pd.Series([orjson.loads(x) for x in joined["label"]], index=joined.index)
    p_num = pd.to_numeric(joined["prediction"], errors="coerce")
    l_num = pd.to_numeric(decoded, errors="coerce")
    numeric = p_num.notna() & l_num.notna()
    correct = np.where(
        numeric,
        np.isclose(p_num.fillna(0), l_num.fillna(0)),
        joined["prediction"].astype(str) == decoded.astype(str),
    )
    for v in variants:
        mask = (joined["variant"] == v).to_numpy()
        out[v] = (int(correct[mask].sum()), int(mask.sum()))
    return out


def run_checks(
    stats: dict[str, MergedStats],
    target: str,
    baseline: str | None,
    spec: RolloutSpec,
    accuracy: dict[str, tuple[int, int]] | None = None,
) -> list[AnalysisCheck]:
    """The configured checks for ``target`` (against ``baseline`` where a check compares)."""
    t = stats.get(target) or MergedStats()
    b = stats.get(baseline) if baseline else None
    need = spec.min_requests
    checks: list[AnalysisCheck] = []

    def few(n: int, what: str = "requests") -> str:
        return f"{n} {what}; at least {need} are needed"

    if spec.min_success_rate is not None:
        rate = t.success_rate
        if t.requests < max(need, 1):
            checks.append(
                AnalysisCheck(
                    name="success_rate",
                    status="inconclusive",
                    value=rate,
                    threshold=spec.min_success_rate,
                    samples=t.requests,
                    message=few(t.requests),
                )
            )
        else:
            ok = rate is not None and rate >= spec.min_success_rate
            checks.append(
                AnalysisCheck(
                    name="success_rate",
                    status="pass" if ok else "fail",
                    value=rate,
                    threshold=spec.min_success_rate,
                    samples=t.requests,
                    message=f"{t.ok} of {t.requests} requests answered without a 5xx",
                )
            )
    p99 = t.quantile_ms(0.99)
    if spec.max_p99_ms is not None:
        if t.requests < max(need, 1) or p99 is None:
            checks.append(
                AnalysisCheck(
                    name="p99_latency_ms",
                    status="inconclusive",
                    value=p99,
                    threshold=spec.max_p99_ms,
                    samples=t.requests,
                    message=few(t.requests),
                )
            )
        else:
            checks.append(
                AnalysisCheck(
                    name="p99_latency_ms",
                    status="pass" if p99 <= spec.max_p99_ms else "fail",
                    value=p99,
                    threshold=spec.max_p99_ms,
                    samples=t.requests,
                    message=f"p99 {p99:.1f} ms against a maximum of {spec.max_p99_ms:g} ms",
                )
            )
    if spec.max_p99_ratio is not None and baseline:
        bp99 = b.quantile_ms(0.99) if b is not None else None
        n = min(t.requests, b.requests if b is not None else 0)
        if n < max(need, 1) or p99 is None or not bp99:
            checks.append(
                AnalysisCheck(
                    name="p99_latency_ratio",
                    status="inconclusive",
                    threshold=spec.max_p99_ratio,
                    samples=n,
                    message=few(n) + " in both variants",
                )
            )
        else:
            ratio = p99 / bp99
            checks.append(
                AnalysisCheck(
                    name="p99_latency_ratio",
                    status="pass" if ratio <= spec.max_p99_ratio else "fail",
                    value=ratio,
                    threshold=spec.max_p99_ratio,
                    samples=n,
                    message=f"p99 {p99:.1f} ms against the baseline's {bp99:.1f} ms",
                )
            )
    if spec.max_prediction_divergence is not None and baseline:
        n = min(t.pred_rows, b.pred_rows if b is not None else 0)
        bins = prediction_bins([b, t]) if b is not None and n else None
        if n < max(need, 1) or bins is None:
            checks.append(
                AnalysisCheck(
                    name="prediction_divergence",
                    status="inconclusive",
                    threshold=spec.max_prediction_divergence,
                    samples=n,
                    message=few(n, "predictions") + " in both variants",
                )
            )
        else:
            js = js_divergence(bins[0], bins[1])
            checks.append(
                AnalysisCheck(
                    name="prediction_divergence",
                    status="pass" if js <= spec.max_prediction_divergence else "fail",
                    value=js,
                    threshold=spec.max_prediction_divergence,
                    samples=n,
                    message="Jensen-Shannon divergence (base 2) of the prediction distributions",
                )
            )
    if spec.min_accuracy_delta is not None and baseline and accuracy is not None:
        ct, nt = accuracy.get(target, (0, 0))
        cb, nb = accuracy.get(baseline, (0, 0))
        n = min(nt, nb)
        if n < spec.min_feedback:
            checks.append(
                AnalysisCheck(
                    name="accuracy_delta",
                    status="inconclusive",
                    threshold=spec.min_accuracy_delta,
                    samples=n,
                    message=f"{n} labelled predictions; at least {spec.min_feedback} are needed",
                )
            )
        else:
            delta = ct / nt - cb / nb
            checks.append(
                AnalysisCheck(
                    name="accuracy_delta",
                    status="pass" if delta >= spec.min_accuracy_delta else "fail",
                    value=delta,
                    threshold=spec.min_accuracy_delta,
                    samples=n,
                    message=f"accuracy {ct / nt:.3f} against the baseline's {cb / nb:.3f}",
                )
            )
    return checks


def summarize(checks: list[AnalysisCheck]) -> str:
    if any(c.status == "fail" for c in checks):
        return "fail"
    if any(c.status == "inconclusive" for c in checks):
        return "inconclusive"
    return "pass"


def check_dicts(checks: list[AnalysisCheck]) -> list[dict[str, Any]]:
    return [c.model_dump() for c in checks]
