"""Evaluating a monitor: read the window's sketches and logs, score drift, quality,
performance and operations against the model version's reference. Nothing is stored here.

The live sketches and the prediction and feedback logs sit under the artifact root of the
process next to the data (the server, or the embedded store), so evaluation runs there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mainsail.core._capacity import Prices
from mainsail.core._durations import parse_duration
from mainsail.core._errors import MainsailError
from mainsail.core._ids import now_ms as _now
from mainsail.data._profile import Profile
from mainsail.data._schema import Schema
from mainsail.monitoring._attribution import attribution_report
from mainsail.monitoring._drift import drift
from mainsail.monitoring._operational import from_log, from_sketches, with_cost
from mainsail.monitoring._performance import performance
from mainsail.monitoring._quality import check_quality
from mainsail.monitoring._refusals import with_refusals
from mainsail.monitoring._sources import inputs_of, load_sketches, read_log
from mainsail.monitoring._spec import Monitor, MonitorResult

if TYPE_CHECKING:
    from mainsail.store._context import Context


@dataclass
class Evaluation:
    """A result plus what produced it (kept for reports; not stored)."""

    result: MonitorResult
    reference: Profile | None = None
    current: Profile | None = None


def _dominant(counts: dict[str, int]) -> str | None:
    return max(counts, key=lambda k: counts[k]) if counts else None


def evaluate_monitor(
    ctx: Context, monitor: Monitor, window_s: float | None = None, now: int | None = None
) -> Evaluation:
    """Compute a result without storing it or touching alerts."""
    from mainsail.data._profile import profile_frame
    from mainsail.registry._registry import resolve_version

    spec = monitor.spec
    now = now if now is not None else _now()
    window_s = window_s or parse_duration(spec.window)
    start = int(now - window_s * 1000)
    root = ctx.settings.resolved_artifact_root()
    errors: list[str] = []
    sketches = load_sketches(root, spec.endpoint, start, now)
    need_log = bool({"quality", "performance", "attribution"} & set(spec.checks)) or not sketches
    plog = read_log(root, "predictions", spec.endpoint, start, now) if need_log else pd.DataFrame()
    counts = {v: w.rows for v, w in sketches.items()}
    if not counts and not plog.empty and "model_version" in plog:
        counts = {
            str(k): int(v) for k, v in plog["model_version"].astype(str).value_counts().items()
        }
    version = _dominant(counts)
    base: dict[str, Any] = dict(
        monitor_id=monitor.id,
        endpoint=spec.endpoint,
        name=spec.name,
        ts=now,
        window_start=start,
        window_end=now,
        model_version=version,
    )
    if version is None:
        empty = MonitorResult(status="no_data", source=None, **base)
        if "operational" in spec.checks:  # deployed and watched, but nobody called it: idle
            empty.operational = with_cost(
                from_log(plog, window_s), Prices.from_settings(ctx.settings), window_s
            )
            empty.scores = scores_of(empty)
        return Evaluation(empty)
    vlog = plog[plog["model_version"].astype(str) == version] if not plog.empty else plog
    model_name = spec.model
    if model_name is None and not vlog.empty and "model_name" in vlog:
        model_name = str(vlog["model_name"].iloc[0])
    model_name = model_name or spec.endpoint
    mv = None
    try:
        mv = resolve_version(ctx, f"models:/{model_name}/{int(version)}")
    except (MainsailError, ValueError) as exc:
        errors.append(f"model version {model_name}/{version}: {getattr(exc, 'message', exc)}")
    reference = Profile.from_dict(mv.reference_profile) if mv and mv.reference_profile else None
    signature = (
        Schema.from_dict(mv.signature["inputs"]) if mv and mv.signature.get("inputs") else None
    )
    sk = sketches.get(version)
    inputs = inputs_of(vlog) if not vlog.empty else None
    current: Profile | None = sk.profile if sk is not None and sk.profile is not None else None
    if current is None and inputs is not None:
        frame = inputs
        if (
            "prediction" in vlog
            and vlog["prediction"].map(lambda x: not isinstance(x, list | tuple)).all()
        ):
            frame = inputs.assign(prediction=vlog["prediction"].to_numpy())
        current = profile_frame(frame, reference=reference)
    source = "sketches" if sk is not None and sk.profile is not None else "prediction log"
    result = MonitorResult(status="ok", source=source, errors=errors, **base)

    if "drift" in spec.checks:
        if reference is None or current is None:
            errors.append("drift: no reference profile for this model version; skipped")
        else:
            wanted = spec.columns or [
                c
                for c in (signature.names if signature else reference.columns)
                if c in reference.columns
            ]
            pred = (
                "prediction"
                if "prediction" in reference.columns and "prediction" in current.columns
                else None
            )
            cols = wanted + ([pred] if pred and pred not in wanted else [])
            try:
                result.drift = drift(
                    reference,
                    current,
                    columns=cols,
                    tests=spec.tests,
                    stattest=spec.stattest,
                    max_drift_share=spec.max_drift_share,
                    prediction_column=pred,
                )
            except MainsailError as exc:
                errors.append(f"drift: {exc.message}")
    if "quality" in spec.checks:
        target: pd.DataFrame | Profile | None = inputs if inputs is not None else current
        if target is not None:
            result.quality = check_quality(target, signature=signature, reference=reference)
        if sk is not None:  # requests refused for schema/type reasons never reached the log
            result.quality = with_refusals(result.quality, sk)
    if "performance" in spec.checks and not vlog.empty and mv is not None and mv.task != "other":
        feedback = read_log(root, "feedback", spec.endpoint, start, None)
        result.performance = performance(
            vlog,
            feedback,
            task=mv.task,
            reference=dict(mv.metrics),
            bucket_ms=int(parse_duration(spec.interval) * 1000),
            window_end_ms=now,
            positive=mv.classes[-1] if mv.classes else None,  # whose probability is logged
            classes=list(mv.classes) if mv.classes else None,
        )
    if "operational" in spec.checks:
        result.operational = with_cost(
            from_sketches(list(sketches.values()), window_s)
            if sketches
            else from_log(plog, window_s),
            Prices.from_settings(ctx.settings),
            window_s,
        )
    # which drift matters for the predictions (importance-weighted), and attribution drift
    result.attribution = attribution_report(ctx, spec, mv, inputs, result.drift, result.errors)
    result.scores = scores_of(result)
    return Evaluation(result, reference=reference, current=current)


def scores_of(r: MonitorResult) -> dict[str, float]:
    """The flat scores of a result: what alert rules, triggers and the time series read."""
    s: dict[str, float] = {}
    if r.drift is not None:
        d = r.drift
        s["drift.share"] = d.share_drifted
        s["drift.dataset"] = float(d.dataset_drift)
        s["drift.drifted_columns"] = float(len(d.drifted_columns))
        s["drift.missing_columns"] = float(len(d.missing_columns))
        for c in [*d.columns, *([d.prediction] if d.prediction else [])]:
            key = "drift.prediction" if c.is_prediction else f"drift.feature.{c.column}"
            s[f"{key}.score"] = c.statistic
            s[f"{key}.effect"] = c.effect_size
            s[f"{key}.drifted"] = float(c.drifted)
            if c.p_adjusted is not None:
                s[f"{key}.p_value"] = c.p_adjusted
    for part in (r.quality, r.performance, r.operational, r.attribution):
        if part is not None:
            s.update(part.scores())
    return s


__all__ = ["Evaluation", "evaluate_monitor", "scores_of"]
