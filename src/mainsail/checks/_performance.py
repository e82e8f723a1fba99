"""Checks on predictive quality: absolute thresholds, the baseline comparison, slices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mainsail.checks._metrics import (
    METRICS,
    Metric,
    Scored,
    get_metric,
    metric_names,
    primary_metric,
)
from mainsail.checks._metrics import score as encode
from mainsail.checks._policy import BaselinePolicy, MetricsConfig, MetricThreshold, SlicePolicy
from mainsail.checks._registry import PlanFacts
from mainsail.checks._stats import decide, mcnemar, paired_bootstrap
from mainsail.checks._types import CheckContext, CheckOutcome
from mainsail.core._errors import InvalidValueError


def scored(context: CheckContext, which: str = "candidate") -> Scored:
    """The model's encoded outputs against the label on the check data (cached)."""
    key = f"scored:{which}"
    if key not in context.cache:
        if context.y is None:
            raise InvalidValueError(
                "This check needs the label: name the label column with --label (or `label:` "
                "in the policy)."
            )
        pred, proba = context.predictions(which)
        version = context.version if which == "candidate" else context.baseline_version
        assert version is not None
        context.cache[key] = encode(
            context.task, context.y, pred, proba, version.classes, context.label or "label"
        )
    out: Scored = context.cache[key]
    return out


def usable_metric(name: str | None, context: CheckContext, s: Scored) -> Metric:
    if name is None:
        return primary_metric(context.task, s)
    m = get_metric(name, context.task)
    if not m.applies(s):
        why = (
            "it needs class probabilities and this model has no predict_proba"
            if m.needs_proba and s.proba is None
            else "it is defined for binary classifiers only"
        )
        valid = [n for n in metric_names(context.task) if METRICS[n].applies(s)]
        raise InvalidValueError(
            f"Metric {name!r} cannot be computed for {context.version.address}: {why}. "
            f"Usable metrics: {', '.join(valid)}."
        )
    return m


def _bounds(t: MetricThreshold) -> str:
    parts = []
    if t.min is not None:
        parts.append(f">= {t.min:g}")
    if t.max is not None:
        parts.append(f"<= {t.max:g}")
    return " and ".join(parts)


class ThresholdCheck:
    """Absolute floors (``min``) or ceilings (``max``) on the task's metrics."""

    name = "metrics"
    config_model = MetricsConfig
    order = 10
    needs_label = True
    enabled = staticmethod(bool)  # metrics: {} configures nothing

    @staticmethod
    def informational(facts: PlanFacts) -> bool:
        return facts.has_label  # every metric that applies, unjudged

    def __init__(self, config: dict[str, MetricThreshold] | None) -> None:
        self.config = dict(config or {})

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        s = scored(context)
        out = []
        if not self.config:  # informational: every metric that applies, nothing judged
            for name in metric_names(context.task):
                m = METRICS[name]
                if m.applies(s):
                    v = m.value(s)
                    out.append(
                        CheckOutcome(
                            name=f"metrics.{name}",
                            kind="metrics",
                            status="pass" if np.isfinite(v) else "inconclusive",
                            value=_num(v),
                            detail="informational: no threshold configured",
                            data={"n": s.n, "higher_is_better": m.higher_is_better},
                        )
                    )
            return out
        for name, t in self.config.items():
            m = usable_metric(name, context, s)
            v = m.value(s)
            threshold = t.min if t.min is not None else t.max
            if threshold is None:
                raise InvalidValueError(
                    f"metrics.{name} needs min or max (e.g. {{min: 0.8}}). Got neither."
                )
            data = {"n": s.n, "min": t.min, "max": t.max, "higher_is_better": m.higher_is_better}
            if not np.isfinite(v):
                status, detail = "inconclusive", f"{name} is undefined on these {s.n} rows"
            else:
                low_ok = t.min is None or v >= t.min
                high_ok = t.max is None or v <= t.max
                status = "pass" if low_ok and high_ok else "fail"
                detail = f"{name} = {v:.4g}, required {_bounds(t)} (n={s.n})"
            out.append(
                CheckOutcome(
                    name=f"metrics.{name}",
                    kind="metrics",
                    status=status,  # type: ignore[arg-type]
                    value=_num(v),
                    threshold=threshold,
                    detail=detail,
                    data=data,
                )
            )
        return out


class BaselineCheck:
    """The candidate against the baseline on the same rows, with a confidence interval."""

    name = "baseline"
    config_model = BaselinePolicy
    order = 20
    needs_label = True

    @staticmethod
    def informational(facts: PlanFacts) -> bool:
        return facts.has_label and facts.compare

    def __init__(self, config: BaselinePolicy | None) -> None:
        self.config = config
        self.judged = config is not None

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config or BaselinePolicy.model_validate({})
        if context.baseline is None or context.baseline_version is None:
            return [
                CheckOutcome(
                    name="baseline",
                    kind="baseline",
                    status="inconclusive",
                    threshold=cfg.margin if self.judged else None,
                    detail="no baseline to compare with (pass --baseline, e.g. @champion)",
                )
            ]
        if self.judged and context.frame is not None:
            from mainsail.registry._signature import ModelSignature

            needed = ModelSignature.from_dict(context.baseline_version.signature).input_names
            lacking = [c for c in needed if c not in context.frame.columns]
            if lacking:
                raise InvalidValueError(
                    f"The data lacks input(s) {', '.join(map(repr, lacking))} of the baseline "
                    f"{context.baseline_version.address}, so the two cannot be compared on the "
                    "same rows. Add those columns to the check data, or drop the baseline section."
                )
        cand, base = scored(context, "candidate"), scored(context, "baseline")
        if cfg.test == "mcnemar":
            if cfg.metric not in (None, "accuracy"):
                raise InvalidValueError(
                    f"McNemar's test compares accuracy; the policy asks for {cfg.metric!r}. "
                    "Use test: bootstrap for other metrics, or metric: accuracy."
                )
            comp = mcnemar(cand, base, cfg.confidence)
        else:
            metric = usable_metric(cfg.metric, context, cand)
            if not metric.applies(base):
                raise InvalidValueError(
                    f"The baseline {context.baseline_version.address} cannot compute "
                    f"{metric.name} (no predict_proba?). Choose another metric."
                )
            comp = paired_bootstrap(
                metric, cand, base, cfg.n_boot, cfg.confidence, cfg.margin, context.seed
            )
        name = f"baseline.{comp.metric}"
        data: dict[str, Any] = {
            **comp.to_dict(),
            "baseline_version": context.baseline_version.version,
            "margin": cfg.margin,
            "min_abs_change": cfg.min_abs_change,
            "min_rel_change": cfg.min_rel_change,
        }
        if comp.n < cfg.min_rows:
            status, detail = "inconclusive", f"only {comp.n} rows; need {cfg.min_rows} to compare"
        else:
            d = decide(comp, cfg.margin, cfg.min_abs_change, cfg.min_rel_change)
            status, detail = d.status, d.reason
        detail = f"vs v{context.baseline_version.version}: {detail}"
        if comp.p_value is not None:
            detail += (
                f"; McNemar p={comp.p_value:.3g} (discordant {comp.discordant})"
                if comp.test == "mcnemar"
                else f"; bootstrap p(delta <= margin)={comp.p_value:.3g}"
            )
        if not self.judged:
            detail = f"informational (no baseline section in the policy): {detail}"
        return [
            CheckOutcome(
                name=name,
                kind="baseline",
                status=status if self.judged else _soft(status),  # type: ignore[arg-type]
                value=_num(comp.delta),
                threshold=cfg.margin if self.judged else None,
                detail=detail,
                data=data,
            )
        ]


def _soft(status: str) -> str:
    return "inconclusive" if status == "fail" else status


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def slice_groups(frame: pd.DataFrame, column: str, bins: int) -> pd.Series:
    """Slice labels for ``column``: its values, or quantile bins of a numeric column."""
    s = frame[column].reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    if numeric and s.nunique(dropna=True) > bins:
        cut = pd.qcut(s, q=bins, duplicates="drop")
        labels = cut.astype(str)
    else:
        labels = s.astype(str)
    return labels.where(s.notna(), "(missing)")


class SliceCheck:
    """The metric per slice of chosen columns: a per-slice minimum and a maximum gap."""

    name = "slices"
    config_model = SlicePolicy
    order = 30
    needs_label = True

    def __init__(self, config: SlicePolicy) -> None:
        self.config = config

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config
        frame = context.frame if context.frame is not None else context.X
        missing = [c for c in cfg.columns if c not in frame.columns]
        if missing:
            raise InvalidValueError(
                f"Slice column(s) {', '.join(map(repr, missing))} are not in the data. "
                f"Columns are: {', '.join(map(str, frame.columns))}."
            )
        s = scored(context)
        metric = usable_metric(cfg.metric, context, s)
        out = []
        for col in cfg.columns:
            groups = slice_groups(frame, col, cfg.bins)
            rows: list[dict[str, Any]] = []
            for value, idx in groups.groupby(groups, sort=True).groups.items():
                ix = np.asarray(idx)
                sub = s.take(ix)
                v = metric.value(sub) if len(ix) >= cfg.min_rows else float("nan")
                rows.append({"slice": str(value), "n": len(ix), "value": _num(v)})
            valid = [r for r in rows if r["value"] is not None]
            skipped = [r["slice"] for r in rows if r["value"] is None]
            note = (
                f"; not judged ({'fewer than ' + str(cfg.min_rows) + ' rows or undefined'}): "
                + ", ".join(skipped[:5])
                if skipped
                else ""
            )
            data = {"metric": metric.name, "slices": rows, "min_rows": cfg.min_rows}
            if not valid:
                out.append(
                    CheckOutcome(
                        name=f"slices.{col}",
                        kind="slices",
                        status="inconclusive",
                        threshold=cfg.min,
                        detail=f"no slice of {col!r} has {cfg.min_rows}+ rows with a defined "
                        f"{metric.name}",
                        data=data,
                    )
                )
                continue
            vals = [float(r["value"]) for r in valid]
            worst = min(vals) if metric.higher_is_better else max(vals)
            worst_slice = valid[vals.index(worst)]["slice"]
            if cfg.min is not None or cfg.max_gap is None:
                ok = cfg.min is None or metric.better(worst, cfg.min) >= 0
                out.append(
                    CheckOutcome(
                        name=f"slices.{col}",
                        kind="slices",
                        status="pass" if ok else "fail",
                        value=worst,
                        threshold=cfg.min,
                        detail=f"worst slice {col}={worst_slice}: {metric.name} {worst:.4g}"
                        + (
                            f", required {cfg.min:g}"
                            if cfg.min is not None
                            else " (no minimum set)"
                        )
                        + note,
                        data=data,
                    )
                )
            if cfg.max_gap is not None:
                gap = max(vals) - min(vals)
                out.append(
                    CheckOutcome(
                        name=f"slices.{col}.gap",
                        kind="slices",
                        status="pass" if gap <= cfg.max_gap else "fail",
                        value=gap,
                        threshold=cfg.max_gap,
                        detail=f"{metric.name} ranges {min(vals):.4g}..{max(vals):.4g} across "
                        f"{len(valid)} slices of {col!r} (gap {gap:.4g}, max {cfg.max_gap:g})"
                        + note,
                        data=data,
                    )
                )
        return out
