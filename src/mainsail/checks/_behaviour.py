"""Behaviour under stress and declared expectations: robustness, invariance, direction.

Robustness perturbs the check data four ways: Gaussian noise on numeric inputs (scaled by
each column's standard deviation), random missing values (only in inputs whose signature
accepts them: elsewhere the signature already answers with a clear 422), unseen
categories in string inputs, and out-of-range numeric values. The model must not crash,
and (with a label) the metric may drop by at most ``max_drop``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mainsail.checks._performance import scored, usable_metric
from mainsail.checks._policy import DirectionalSpec, InvarianceSpec, RobustnessPolicy
from mainsail.checks._types import CheckContext, CheckOutcome, predict_both
from mainsail.core._errors import InvalidValueError

UNSEEN = "__mainsail_unseen__"


def _crash(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:300]}" if msg else type(exc).__name__


def output_vector(context: CheckContext, pred: np.ndarray, proba: np.ndarray | None) -> np.ndarray:
    """One number (or label) per row to compare outputs: P(positive), the value or the label."""
    if proba is not None and proba.ndim == 2 and proba.shape[1] == 2:
        return proba[:, 1]
    if proba is not None:
        return proba
    return np.asarray(pred)


def _changed(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        d = np.abs(a - b)
        return d.max(axis=1) > tol if d.ndim == 2 else d > tol
    return np.asarray(a != b)


def _inputs(context: CheckContext) -> pd.DataFrame:
    names = context.model.signature.input_names
    return context.X[names].reset_index(drop=True).copy()


class RobustnessCheck:
    """The model survives noise, missing values, unseen categories and out-of-range values."""

    name = "robustness"
    config_model = RobustnessPolicy
    order = 60

    def __init__(self, config: RobustnessPolicy) -> None:
        self.config = config

    def _perturb(
        self, kind: str, X: pd.DataFrame, context: CheckContext, rng: np.random.Generator
    ) -> tuple[pd.DataFrame | None, str]:
        cfg = self.config
        cols = context.model.signature.inputs.columns
        Xp = X.copy()
        n = len(X)
        if kind == "noise":
            num = [c for c in cols if c.is_numeric]
            if not num:
                return None, "no numeric inputs"
            for c in num:
                v = pd.to_numeric(Xp[c.name], errors="coerce").astype("float64")
                sd = float(np.nanstd(v)) or 1.0
                Xp[c.name] = v + rng.normal(0, float(cfg.noise or 0) * sd, n)
            return Xp, f"Gaussian noise ({cfg.noise:g} sd) on {', '.join(c.name for c in num)}"
        if kind == "missing":
            ok = [c for c in cols if c.nullable]
            if not ok:
                return None, (
                    "the signature refuses missing values in every input (clients get a 422 "
                    "naming the column), so the model never sees them"
                )
            for c in ok:
                mask = rng.random(n) < float(cfg.missing or 0)
                if c.is_numeric:
                    values = Xp[c.name].astype("float64").to_numpy()
                    Xp[c.name] = np.where(mask, np.nan, values)
                else:
                    Xp[c.name] = Xp[c.name].astype(object).where(~mask, None)
            return Xp, f"{cfg.missing:.0%} missing values in {', '.join(c.name for c in ok)}"
        if kind == "unseen":
            cats = [c for c in cols if c.dtype in ("string", "category")]
            if not cats:
                return None, "no string or categorical inputs"
            for c in cats:
                mask = rng.random(n) < float(cfg.unseen or 0)
                Xp[c.name] = np.where(mask, UNSEEN, Xp[c.name].astype(object).to_numpy())
            return Xp, f"{cfg.unseen:.0%} unseen categories in {', '.join(c.name for c in cats)}"
        num = [c for c in cols if c.is_numeric]
        if not num:
            return None, "no numeric inputs"
        for c in num:
            v = pd.to_numeric(Xp[c.name], errors="coerce").astype("float64")
            lo = c.min if c.min is not None else float(np.nanmin(v))
            hi = c.max if c.max is not None else float(np.nanmax(v))
            span = (hi - lo) or 1.0
            mask = rng.random(n) < float(cfg.out_of_range or 0)
            far = np.where(rng.random(n) < 0.5, lo - 2 * span, hi + 2 * span)
            if c.dtype == "int":
                far = np.round(far)
            Xp[c.name] = np.where(mask, far, v)
        return Xp, f"{cfg.out_of_range:.0%} out-of-range values in {', '.join(c.name for c in num)}"

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config
        X = _inputs(context)
        rng = np.random.default_rng(context.seed + 17)
        metric = None
        clean_value = float("nan")
        if context.y is not None and context.task in ("classification", "regression"):
            s = scored(context)
            metric = usable_metric(cfg.metric, context, s)
            clean_value = metric.value(s)
        clean_pred, clean_proba = context.predictions()
        clean_out = output_vector(context, clean_pred, clean_proba)
        out = []
        for kind in ("noise", "missing", "unseen", "out_of_range"):
            rate = getattr(cfg, kind)
            name = f"robustness.{kind}"
            if not rate:
                continue
            Xp, what = self._perturb(kind, X, context, rng)
            if Xp is None:
                out.append(
                    CheckOutcome(
                        name=name, kind="robustness", status="pass", detail=f"skipped: {what}"
                    )
                )
                continue
            try:
                pred, proba = predict_both(context.model, Xp)
            except Exception as exc:  # noqa: BLE001 - a crashing model is the finding
                out.append(
                    CheckOutcome(
                        name=name,
                        kind="robustness",
                        status="fail",
                        threshold=cfg.max_drop,
                        detail=f"the model crashed on {what}: {_crash(exc)}",
                        data={"perturbation": what, "crashed": True, "error": _crash(exc)},
                    )
                )
                continue
            changed = float(np.mean(_changed(clean_out, output_vector(context, pred, proba), 1e-9)))
            data: dict[str, Any] = {"perturbation": what, "changed_rows": changed, "crashed": False}
            if metric is None or not np.isfinite(clean_value):
                out.append(
                    CheckOutcome(
                        name=name,
                        kind="robustness",
                        status="pass",
                        value=changed,
                        detail=f"no crash on {what}; {changed:.1%} of outputs changed (no label, "
                        "so the metric drop is not judged)",
                        data=data,
                    )
                )
                continue
            from mainsail.checks._metrics import score as encode

            sp = encode(
                context.task, context.y, pred, proba, context.version.classes, context.label or ""
            )
            perturbed = metric.value(sp)
            drop = metric.better(clean_value, perturbed)
            data.update({"metric": metric.name, "clean": clean_value, "perturbed": perturbed})
            ok = np.isfinite(drop) and drop <= cfg.max_drop
            out.append(
                CheckOutcome(
                    name=name,
                    kind="robustness",
                    status="pass" if ok else "fail",
                    value=float(drop) if np.isfinite(drop) else None,
                    threshold=cfg.max_drop,
                    detail=f"{metric.name} {clean_value:.4g} -> {perturbed:.4g} under {what} "
                    f"(drop {drop:+.4g}, max {cfg.max_drop:g})",
                    data=data,
                )
            )
        return out


def _feature(context: CheckContext, feature: str, what: str) -> None:
    names = context.model.signature.input_names
    if feature not in names:
        raise InvalidValueError(
            f"The {what} expectation names {feature!r}, which is not a model input. "
            f"Inputs are: {', '.join(names)}."
        )


class InvarianceCheck:
    """Changing a feature the model should ignore leaves its outputs alone."""

    name = "invariance"
    config_model = list[InvarianceSpec]
    order = 70
    enabled = staticmethod(bool)

    def __init__(self, config: list[InvarianceSpec]) -> None:
        self.config = list(config)

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        X = _inputs(context)
        base = output_vector(context, *context.predictions())
        rng = np.random.default_rng(context.seed + 29)
        out = []
        for spec in self.config:
            _feature(context, spec.feature, "invariance")
            variants: list[tuple[str, pd.DataFrame]] = []
            if spec.values:
                for v in spec.values:
                    Xp = X.copy()
                    Xp[spec.feature] = v
                    variants.append((f"{spec.feature}={v!r}", Xp))
            else:
                Xp = X.copy()
                Xp[spec.feature] = rng.permutation(X[spec.feature].to_numpy())
                variants.append((f"{spec.feature} shuffled across rows", Xp))
            worst, worst_what, error = 0.0, "", None
            for what, Xp in variants:
                try:
                    changed = _changed(
                        base,
                        output_vector(context, *predict_both(context.model, Xp)),
                        spec.tolerance,
                    )
                except Exception as exc:  # noqa: BLE001
                    error = f"the model crashed on {what}: {_crash(exc)}"
                    break
                rate = float(np.mean(changed))
                if rate >= worst:
                    worst, worst_what = rate, what
            name = f"invariance.{spec.feature}"
            if error is not None:
                out.append(
                    CheckOutcome(
                        name=name,
                        kind="invariance",
                        status="fail",
                        threshold=spec.max_change_rate,
                        detail=error,
                    )
                )
                continue
            ok = worst <= spec.max_change_rate
            out.append(
                CheckOutcome(
                    name=name,
                    kind="invariance",
                    status="pass" if ok else "fail",
                    value=worst,
                    threshold=spec.max_change_rate,
                    detail=f"{worst:.1%} of outputs changed by more than {spec.tolerance:g} with "
                    f"{worst_what} (allowed {spec.max_change_rate:.1%})",
                    data={"variants": [w for w, _ in variants], "tolerance": spec.tolerance},
                )
            )
        return out


_VIOLATES = {
    "non_decreasing": lambda d, t: d < -t,
    "non_increasing": lambda d, t: d > t,
    "increasing": lambda d, t: d <= t,
    "decreasing": lambda d, t: d >= -t,
}


class DirectionalCheck:
    """Moving a feature in a direction moves the score the expected way (e.g. income up,
    approval score never down)."""

    name = "directional"
    config_model = list[DirectionalSpec]
    order = 80
    enabled = staticmethod(bool)

    def __init__(self, config: list[DirectionalSpec]) -> None:
        self.config = list(config)

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        X = _inputs(context)
        pred, proba = context.predictions()
        base = output_vector(context, pred, proba)
        if base.ndim != 1 or base.dtype.kind not in "fiu":
            raise InvalidValueError(
                "Directional expectations need one number per row: a binary classifier with "
                "predict_proba, or a regressor. This model returns "
                + ("class probabilities for several classes." if base.ndim == 2 else "labels.")
            )
        base = base.astype("float64")
        out = []
        for spec in self.config:
            _feature(context, spec.feature, "directional")
            col = context.model.signature.inputs[spec.feature]
            if not col.is_numeric:
                raise InvalidValueError(
                    f"Directional expectation on {spec.feature!r} needs a numeric input; it is "
                    f"{col.dtype}. Use an invariance expectation with values: [...] instead."
                )
            v = pd.to_numeric(X[spec.feature], errors="coerce").astype("float64")
            delta = spec.delta or (float(np.nanstd(v)) or 1.0)
            if col.dtype == "int":
                delta = max(1.0, round(delta))
            Xp = X.copy()
            Xp[spec.feature] = v + (delta if spec.direction == "increase" else -delta)
            name = f"directional.{spec.feature}"
            try:
                moved = output_vector(context, *predict_both(context.model, Xp)).astype("float64")
            except Exception as exc:  # noqa: BLE001
                out.append(
                    CheckOutcome(
                        name=name,
                        kind="directional",
                        status="fail",
                        threshold=spec.max_violation_rate,
                        detail=f"the model crashed when {spec.feature} was moved: {_crash(exc)}",
                    )
                )
                continue
            d = moved - base
            bad = _VIOLATES[spec.expect](d, spec.tolerance)
            rate = float(np.mean(bad))
            ok = rate <= spec.max_violation_rate
            out.append(
                CheckOutcome(
                    name=name,
                    kind="directional",
                    status="pass" if ok else "fail",
                    value=rate,
                    threshold=spec.max_violation_rate,
                    detail=f"{spec.direction} {spec.feature} by {delta:.4g}: the output was "
                    f"expected {spec.expect.replace('_', '-')}; {int(bad.sum())} of {len(d)} rows "
                    f"({rate:.1%}) violate it (allowed {spec.max_violation_rate:.1%})",
                    data={
                        "delta": delta,
                        "violations": int(bad.sum()),
                        "n": len(d),
                        "mean_change": float(np.mean(d)),
                    },
                )
            )
        return out
