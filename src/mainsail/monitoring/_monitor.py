"""Monitors: declared per endpoint, evaluated over a window, stored as a time series.

``run_monitor`` reads the live sketches of every replica over the window (and the
prediction/feedback logs when quality or performance is checked), compares them with the
model version's reference profile and signature, stores one ``monitor_results`` row
(status, a flat ``scores`` dict, the full result), applies the alert rules and sends
notifications for every alert that started firing or resolved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator

from mainsail.core._durations import parse_duration
from mainsail.core._errors import InvalidValueError, MainsailError, NotFoundError
from mainsail.core._ids import now_ms as _now
from mainsail.core._uris import check_name
from mainsail.data._profile import Profile
from mainsail.data._schema import Schema
from mainsail.monitoring._alerts import (
    Alert,
    AlertRule,
    evaluate,
    parse_rules,
    record_notify_errors,
)
from mainsail.monitoring._drift import DriftReport, drift
from mainsail.monitoring._notifiers import global_hooks, notify, validate_spec
from mainsail.monitoring._operational import OperationalReport, from_log, from_sketches
from mainsail.monitoring._performance import PerformanceReport, performance
from mainsail.monitoring._quality import QualityReport, check_quality
from mainsail.monitoring._sources import inputs_of, load_sketches, read_log
from mainsail.monitoring._tests import get_test
from mainsail.store import _tables as T
from mainsail.store._rest_client import seg

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.monitoring")
CHECKS = ("drift", "quality", "performance", "operational")
Status = Literal["ok", "warning", "failed", "no_data"]


class MonitorSpec(BaseModel):
    """What a monitor checks, over which window, how often, and whom it tells."""

    endpoint: str
    name: str = "default"
    checks: list[str] = Field(default_factory=lambda: list(CHECKS))
    window: str = "1h"
    interval: str = "5m"
    rules: list[AlertRule] | None = None
    notifiers: list[str | dict[str, Any]] = Field(default_factory=lambda: ["log"])  # type: ignore[arg-type]
    model: str | None = None
    drift_share: float = 0.5
    stattest: str | None = None
    tests: dict[str, str] = Field(default_factory=dict)
    columns: list[str] | None = None
    enabled: bool = True

    @field_validator("checks")
    @classmethod
    def _checks(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in CHECKS]
        if bad or not v:
            raise ValueError(f"checks must be a non-empty subset of {', '.join(CHECKS)}; got {v}")
        return v

    @field_validator("window", "interval")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Monitor(BaseModel):
    id: int
    endpoint: str
    name: str
    spec: MonitorSpec
    enabled: bool
    interval_s: int
    last_run_at: int | None = None
    next_run_at: int | None = None
    created_at: int
    updated_at: int


class MonitorResult(BaseModel):
    """One evaluation: status, flat scores (a time series point) and the detailed reports."""

    id: int | None = None
    monitor_id: int
    endpoint: str
    name: str
    ts: int
    window_start: int
    window_end: int
    model_version: str | None = None
    status: Status
    scores: dict[str, float] = Field(default_factory=dict)
    drift: DriftReport | None = None
    quality: QualityReport | None = None
    performance: PerformanceReport | None = None
    operational: OperationalReport | None = None
    alerts: list[Alert] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def summary(self) -> str:
        lines = [
            f"Monitor {self.endpoint}/{self.name}: {self.status.upper()} (model version "
            f"{self.model_version or '-'}, source: {self.source or '-'})"
        ]
        for part in (self.drift, self.quality, self.performance, self.operational):
            if part is not None:
                lines.append(part.summary())
        for a in self.alerts:
            lines.append(f"alert {a.describe()}")
        lines.extend(f"error: {e}" for e in self.errors)
        return "\n".join(lines)


def _path(endpoint: str, name: str, *rest: str) -> str:
    """The API path of a monitor (``/monitors/ENDPOINT/NAME/...``)."""
    return "/".join(["/monitors", seg(endpoint), seg(name), *rest])


def _monitor(row: Any) -> Monitor:
    d = dict(row._mapping)
    d["spec"] = MonitorSpec.model_validate(d["spec"])
    return Monitor.model_validate(d)


def create_monitor(
    ctx: Context,
    endpoint: str,
    *,
    name: str = "default",
    checks: list[str] | None = None,
    window: str = "1h",
    interval: str = "5m",
    rules: list[AlertRule | dict[str, Any]] | None = None,
    notifiers: list[str | dict[str, Any]] | None = None,
    model: str | None = None,
    drift_share: float = 0.5,
    stattest: str | None = None,
    tests: dict[str, str] | None = None,
    columns: list[str] | None = None,
    enabled: bool = True,
) -> Monitor:
    """Create or update (by endpoint + name) a monitor.

    Parameters
    ----------
    endpoint : the served endpoint whose traffic is watched.
    checks : any of drift, quality, performance, operational (default: all).
    window : how much traffic each run looks at ("1h", "30m", "7d").
    interval : how often the controller runs it ("5m").
    rules : alert rules (``AlertRule`` or dicts); default: :func:`default_rules`.
    notifiers : ``"log"``, ``"webhook:<url>"``, ``{"type": "webhook", ...}``, hook names.
    model : registered model name behind the endpoint (default: from the log, else the
        endpoint name).

    Examples
    --------
    >>> import mainsail
    >>> m = mainsail.create_monitor("churn", window="1h", interval="5m")  # doctest: +SKIP
    """
    check_name(endpoint, "Endpoint")
    check_name(name, "Monitor")
    try:
        spec = MonitorSpec(
            endpoint=endpoint,
            name=name,
            checks=list(checks) if checks is not None else list(CHECKS),
            window=window,
            interval=interval,
            rules=parse_rules(rules) if rules is not None else None,
            notifiers=list(notifiers) if notifiers is not None else ["log"],
            model=model,
            drift_share=drift_share,
            stattest=stattest,
            tests=dict(tests or {}),
            columns=columns,
            enabled=enabled,
        )
    except MainsailError:
        raise
    except Exception as exc:
        raise InvalidValueError(f"Bad monitor definition for {endpoint!r}: {exc}") from exc
    if not 0 < drift_share <= 1:
        raise InvalidValueError(f"drift_share must be in (0, 1]. Got {drift_share}.")
    for n in spec.notifiers:
        validate_spec(n)
    for test in [spec.stattest, *spec.tests.values()]:
        if test is not None:
            get_test(test)  # an unknown drift test: the error lists the valid ones
    if (api := ctx.remote) is not None:
        body = spec.model_dump(mode="json", exclude={"endpoint", "name"})
        return Monitor.model_validate(api.json("PUT", _path(endpoint, name), json=body))
    return save_monitor(ctx, spec)


def monitor_from_yaml(ctx: Context, text: str) -> list[Monitor]:
    """Create the monitors of a YAML document (one mapping, or a list under ``monitors:``)."""
    from mainsail.core._optional import import_optional

    yaml = import_optional("yaml", extra="monitor", package="pyyaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"Monitor YAML does not parse: {exc}") from exc
    docs = data.get("monitors", [data]) if isinstance(data, dict) else data
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise InvalidValueError(
            "Expected a monitor mapping (endpoint:, window:, checks:, rules:, ...) or a list "
            f"of them under 'monitors:'. Got {type(data).__name__}."
        )
    out = []
    for d in docs:
        if "endpoint" not in d:
            raise InvalidValueError(f"A monitor needs 'endpoint'. Got keys: {', '.join(d)}.")
        d = dict(d)
        out.append(create_monitor(ctx, d.pop("endpoint"), **d))
    return out


def save_monitor(ctx: Context, spec: MonitorSpec) -> Monitor:
    now = _now()
    interval_s = int(parse_duration(spec.interval))
    doc = spec.model_dump(mode="json")
    with ctx.database().db.write() as conn:
        row = conn.execute(
            sa.select(T.monitors.c.id).where(
                T.monitors.c.endpoint == spec.endpoint, T.monitors.c.name == spec.name
            )
        ).first()
        values = {"spec": doc, "enabled": spec.enabled, "interval_s": interval_s, "updated_at": now}
        if row is None:
            conn.execute(
                sa.insert(T.monitors).values(
                    endpoint=spec.endpoint,
                    name=spec.name,
                    created_at=now,
                    next_run_at=now,
                    **values,
                )
            )
        else:
            conn.execute(sa.update(T.monitors).where(T.monitors.c.id == row[0]).values(**values))
    return get_monitor(ctx, spec.endpoint, spec.name)


def get_monitor(ctx: Context, endpoint: str, name: str = "default") -> Monitor:
    """The monitor ``name`` of ``endpoint``; :class:`NotFoundError` lists the known ones."""
    if (api := ctx.remote) is not None:
        return Monitor.model_validate(api.json("GET", _path(endpoint, name)))
    with ctx.database().db.read() as conn:
        row = conn.execute(
            sa.select(T.monitors).where(
                T.monitors.c.endpoint == endpoint, T.monitors.c.name == name
            )
        ).first()
    if row is None:
        known = [f"{m.endpoint}/{m.name}" for m in list_monitors(ctx)]
        raise NotFoundError(
            f"No monitor {name!r} on endpoint {endpoint!r}. Known monitors: "
            f"{', '.join(known) or 'none'}. Create one with mainsail.create_monitor({endpoint!r}) "
            "or: mainsail monitor create ENDPOINT"
        )
    return _monitor(row)


def list_monitors(ctx: Context, endpoint: str | None = None) -> list[Monitor]:
    """Monitors (of one endpoint, or all), by endpoint and name.

    Examples
    --------
    >>> import mainsail
    >>> [m.name for m in mainsail.list_monitors("churn")]  # doctest: +SKIP
    ['default']
    """
    if (api := ctx.remote) is not None:
        params = {"endpoint": endpoint} if endpoint is not None else {}
        return [Monitor.model_validate(m) for m in api.json("GET", "/monitors", params=params)]
    q = sa.select(T.monitors).order_by(T.monitors.c.endpoint, T.monitors.c.name)
    if endpoint is not None:
        q = q.where(T.monitors.c.endpoint == endpoint)
    with ctx.database().db.read() as conn:
        return [_monitor(r) for r in conn.execute(q)]


def delete_monitor(ctx: Context, endpoint: str, name: str = "default") -> None:
    """Delete a monitor and its stored results."""
    if (api := ctx.remote) is not None:
        api.json("DELETE", _path(endpoint, name))
        return
    m = get_monitor(ctx, endpoint, name)
    with ctx.database().db.write() as conn:
        conn.execute(sa.delete(T.monitor_results).where(T.monitor_results.c.monitor_id == m.id))
        conn.execute(sa.delete(T.monitors).where(T.monitors.c.id == m.id))


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
    need_log = bool({"quality", "performance"} & set(spec.checks)) or not sketches
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
        return Evaluation(MonitorResult(status="no_data", source=None, **base))
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
                    drift_share=spec.drift_share,
                    prediction_column=pred,
                )
            except MainsailError as exc:
                errors.append(f"drift: {exc.message}")
    if "quality" in spec.checks:
        target: pd.DataFrame | Profile | None = inputs if inputs is not None else current
        if target is not None:
            result.quality = check_quality(target, signature=signature, reference=reference)
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
        )
    if "operational" in spec.checks:
        result.operational = (
            from_sketches(list(sketches.values()), window_s)
            if sketches
            else from_log(plog, window_s)
        )
    result.scores = _scores(result)
    return Evaluation(result, reference=reference, current=current)


def _scores(r: MonitorResult) -> dict[str, float]:
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
    for part in (r.quality, r.performance, r.operational):
        if part is not None:
            s.update(part.scores())
    return s


def _evidence(r: MonitorResult, example_rows: list[dict[str, Any]]) -> Any:
    def build(rule: AlertRule) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "model_version": r.model_version,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "monitor": r.name,
        }
        area = rule.metric.split(".", 1)[0]
        if area == "drift" and r.drift is not None:
            cols = [c for c in r.drift.columns if c.drifted]
            if rule.metric.startswith("drift.feature."):
                col = rule.metric.split(".")[2]
                cols = [c for c in r.drift.columns if c.column == col]
            ev["features"] = [
                {
                    "column": c.column,
                    "test": c.test,
                    "statistic": c.statistic,
                    "effect_size": c.effect_size,
                    "p_value": c.p_adjusted,
                    "n_reference": c.n_reference,
                    "n_current": c.n_current,
                }
                for c in cols
            ]
            ev["share_drifted"] = r.drift.share_drifted
        if area == "quality" and r.quality is not None:
            ev["issues"] = [i.model_dump(mode="json") for i in r.quality.issues[:20]]
        if area == "performance" and r.performance is not None:
            p = r.performance
            ev.update(
                metrics=p.metrics, reference=p.reference, coverage=p.coverage, labelled=p.labelled
            )
        if area == "operational" and r.operational is not None:
            ev["operational"] = r.operational.model_dump(mode="json")
        ev["example_rows"] = example_rows
        return ev

    return build


def _examples(ctx: Context, r: MonitorResult, k: int = 5) -> list[dict[str, Any]]:
    if r.drift is None or not r.drift.drifted_columns:
        return []
    root = ctx.settings.resolved_artifact_root()
    rows = read_log(
        root, "predictions", r.endpoint, max(r.window_start, r.window_end - 600_000), r.window_end
    )
    if rows.empty:
        return []
    keep = ["request_id", "ts"] + [f"input.{c}" for c in r.drift.drifted_columns]
    sample = rows[[c for c in keep if c in rows]].tail(k)
    import orjson

    return list(orjson.loads(sample.to_json(orient="records")))


def run_monitor(
    ctx: Context,
    endpoint: str,
    *,
    name: str = "default",
    window: str | None = None,
    now_ms: int | None = None,
) -> MonitorResult:
    """Evaluate a monitor now, store the result, update alerts and notify.

    Examples
    --------
    >>> import mainsail
    >>> r = mainsail.run_monitor("churn", window="1h")  # doctest: +SKIP
    >>> r.status, r.scores["drift.share"]  # doctest: +SKIP
    ('ok', 0.0)
    """
    if (api := ctx.remote) is not None:  # live sketches and logs are on the server
        params: dict[str, str | int] = {}
        if window is not None:
            params["window"] = window
        if now_ms is not None:
            params["now_ms"] = int(now_ms)
        doc = api.json("POST", _path(endpoint, name, "run"), params=params)
        return MonitorResult.model_validate(doc)
    monitor = get_monitor(ctx, endpoint, name)
    return execute(ctx, monitor, parse_duration(window) if window else None, now_ms)


def execute(
    ctx: Context, monitor: Monitor, window_s: float | None, now: int | None
) -> MonitorResult:
    now = now if now is not None else _now()
    try:
        ev = evaluate_monitor(ctx, monitor, window_s, now)
        r = ev.result
    except MainsailError as exc:
        r = MonitorResult(
            monitor_id=monitor.id,
            endpoint=monitor.endpoint,
            name=monitor.name,
            ts=now,
            window_start=now - int((window_s or parse_duration(monitor.spec.window)) * 1000),
            window_end=now,
            status="failed",
            errors=[exc.message],
        )
    rules = parse_rules(
        [x.model_dump() for x in monitor.spec.rules] if monitor.spec.rules is not None else None
    )
    events: list[tuple[Alert, str]] = []
    if r.status != "no_data":
        examples = _examples(ctx, r)
        events = evaluate(
            ctx.database().db, monitor.endpoint, rules, r.scores, _evidence(r, examples), now
        )
        names = {x.name for x in rules}
        from mainsail.monitoring._alerts import list_alerts_in

        r.alerts = [
            a
            for s in ("firing", "pending")
            for a in list_alerts_in(ctx.database().db, monitor.endpoint, s)
            if a.rule in names
        ]
        r.status = _status(r)
    with ctx.database().db.write() as conn:
        res = conn.execute(
            sa.insert(T.monitor_results).values(
                monitor_id=monitor.id,
                ts=r.ts,
                window_start=r.window_start,
                window_end=r.window_end,
                model_version=r.model_version,
                status=r.status,
                scores=r.scores,
                result=r.model_dump(mode="json", exclude={"alerts"}),
            )
        )
        r.id = int(res.inserted_primary_key[0])  # type: ignore[index]
        conn.execute(
            sa.update(T.monitors)
            .where(T.monitors.c.id == monitor.id)
            .values(last_run_at=now, next_run_at=now + monitor.interval_s * 1000)
        )
    for alert, event in events:
        errs = notify([*monitor.spec.notifiers, *global_hooks()], alert, event)
        record_notify_errors(ctx.database().db, alert, errs)
    return r


def _status(r: MonitorResult) -> Status:
    firing = [a for a in r.alerts if a.state == "firing"]
    if any(a.severity == "critical" for a in firing):
        return "failed"
    if r.alerts or (r.drift is not None and r.drift.dataset_drift):
        return "warning"
    if r.quality is not None and r.quality.issues:
        return "warning"
    return "ok"
