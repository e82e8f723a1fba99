"""Which drift matters for the predictions: drift weighted by importance, and attribution drift.

- **Weighted drift** (whenever drift runs and the version stores a global importance, see
  ``register_model(..., reference=)``): each feature's share of the model's attribution (mean
  |SHAP| over the reference, normalised to sum to 1) next to its drift verdict, and
  ``drifted_importance_share``, the share of the attribution carried by drifted features. A
  drifted id column the model ignores weighs 0; the feature that decides the predictions
  weighs most. Scores: ``attribution.drifted_importance``,
  ``attribution.feature.<name>.importance``.
- **Attribution drift** (the ``attribution`` monitor check, opt-in): the model explains a
  bounded sample of the window's logged rows and the version's reference sample; for each
  feature, the distributions of its attributions are compared with a two-sample
  Kolmogorov-Smirnov test (Benjamini-Hochberg across features, and an effect floor on the KS
  statistic), and ``importance_shift`` is the total-variation distance between the two
  normalised mean-|attribution| vectors. It catches change that matters to the model when
  every feature's marginal looks the same (a correlation that broke, a new interaction).
  Scores: ``attribution.drift.share``, ``attribution.importance_shift``,
  ``attribution.feature.<name>.statistic`` / ``.drifted``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mainsail.core._errors import MainsailError

if TYPE_CHECKING:
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.monitoring._drift import DriftReport
    from mainsail.monitoring._spec import MonitorSpec
    from mainsail.store._context import Context

#: Logged rows of the window the attribution-drift test explains at most (a sample).
LIVE_ROWS = 500
#: A feature's attributions drift when the BH-adjusted p-value is below this ...
ALPHA = 0.05
#: ... and the KS statistic (the largest gap between the two CDFs) reaches this.
KS_FLOOR = 0.1


class WeightedFeature(BaseModel):
    column: str
    importance_share: float
    drifted: bool
    effect_size: float | None = None


class FeatureAttributionDrift(BaseModel):
    feature: str
    statistic: float
    p_value: float
    p_adjusted: float
    mean_abs_reference: float
    mean_abs_current: float
    drifted: bool


class AttributionReport(BaseModel):
    """Importance-weighted drift and (with the ``attribution`` check) attribution drift."""

    importance: dict[str, float] = Field(default_factory=dict)
    importance_method: str | None = None
    drifted_importance_share: float | None = None
    features: list[WeightedFeature] = Field(default_factory=list)
    method: str | None = None
    n_reference: int | None = None
    n_current: int | None = None
    attribution_drift: list[FeatureAttributionDrift] = Field(default_factory=list)
    importance_shift: float | None = None
    share_drifted: float | None = None
    skipped: str | None = None

    def share_of(self, column: str) -> float | None:
        return self.importance.get(column)

    def scores(self) -> dict[str, float]:
        s: dict[str, float] = {}
        if self.drifted_importance_share is not None:
            s["attribution.drifted_importance"] = self.drifted_importance_share
        for name, share in self.importance.items():
            s[f"attribution.feature.{name}.importance"] = share
        if self.share_drifted is not None:
            s["attribution.drift.share"] = self.share_drifted
        if self.importance_shift is not None:
            s["attribution.importance_shift"] = self.importance_shift
        for f in self.attribution_drift:
            s[f"attribution.feature.{f.feature}.statistic"] = f.statistic
            s[f"attribution.feature.{f.feature}.drifted"] = float(f.drifted)
        return s

    def summary(self) -> str:
        parts = []
        if self.drifted_importance_share is not None:
            drifted = [f for f in self.features if f.drifted]
            named = ", ".join(f"{f.column} {f.importance_share:.0%}" for f in drifted) or "none"
            parts.append(
                f"drifted features carry {self.drifted_importance_share:.0%} of the model's "
                f"attribution ({named})"
            )
        if self.share_drifted is not None:
            moved = [f.feature for f in self.attribution_drift if f.drifted]
            parts.append(
                f"attribution drift: {len(moved)}/{len(self.attribution_drift)} features "
                f"({', '.join(moved) or 'none'}), importance shift {self.importance_shift:.3f} "
                f"({self.method}, n={self.n_reference}/{self.n_current})"
            )
        if self.skipped:
            parts.append(f"attribution drift skipped: {self.skipped}")
        return "attribution: " + "; ".join(parts) if parts else "attribution: -"


def importance_shares(version: ModelVersion | None) -> tuple[dict[str, float], str | None]:
    """The version's stored global importance as shares summing to 1 (empty without one)."""
    record = ((version.card or {}) if version is not None else {}).get("global_importance") or {}
    features = record.get("features") or {}
    total = float(sum(features.values()))
    if not features or total <= 0:
        return {}, None
    shares = {str(k): float(v) / total for k, v in features.items()}
    return shares, f"{record.get('method')} on {record.get('rows')} reference rows"


def weight_drift(report: AttributionReport, drift: DriftReport | None) -> None:
    """Fill the weighted view of ``drift`` from ``report.importance``."""
    if drift is None or not report.importance:
        return
    features = [
        WeightedFeature(
            column=c.column,
            importance_share=report.importance.get(c.column, 0.0),
            drifted=c.drifted,
            effect_size=c.effect_size,
        )
        for c in drift.columns
    ]
    report.features = sorted(features, key=lambda f: -f.importance_share)
    report.drifted_importance_share = float(sum(f.importance_share for f in features if f.drifted))


def _per_row(values: np.ndarray) -> np.ndarray:
    """(n, f) for one output; (n, f) of summed |attribution| over several outputs."""
    return values[:, :, 0] if values.shape[2] == 1 else np.abs(values).sum(axis=2)


def compare_attributions(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str]
) -> tuple[list[FeatureAttributionDrift], float]:
    """Per-feature KS tests on attribution values (BH-corrected) and the importance shift."""
    from scipy.stats import false_discovery_control, ks_2samp

    ref_abs = reference.abs().mean(axis=0).to_numpy()
    cur_abs = current.abs().mean(axis=0).to_numpy()
    # Attributions of a feature the model ignores are zero up to float rounding (1e-18):
    # noise that a rank test would call a difference. Below 1e-9 of the scale, they are 0.
    tol = 1e-9 * float(max(ref_abs.max(initial=0.0), cur_abs.max(initial=0.0)))
    ref_m = np.where(np.abs(reference.to_numpy()) < tol, 0.0, reference.to_numpy())
    cur_m = np.where(np.abs(current.to_numpy()) < tol, 0.0, current.to_numpy())
    stats, pvals = [], []
    for j in range(len(features)):
        res = ks_2samp(ref_m[:, j], cur_m[:, j])
        stats.append(float(res.statistic))
        pvals.append(float(res.pvalue))
    adjusted = np.asarray(false_discovery_control(np.asarray(pvals)), dtype="float64")
    out = [
        FeatureAttributionDrift(
            feature=name,
            statistic=stats[j],
            p_value=pvals[j],
            p_adjusted=float(adjusted[j]),
            mean_abs_reference=float(ref_abs[j]),
            mean_abs_current=float(cur_abs[j]),
            drifted=bool(adjusted[j] < ALPHA and stats[j] >= KS_FLOOR),
        )
        for j, name in enumerate(features)
    ]
    ref_share = ref_abs / ref_abs.sum() if ref_abs.sum() > 0 else ref_abs
    cur_share = cur_abs / cur_abs.sum() if cur_abs.sum() > 0 else cur_abs
    return out, float(0.5 * np.abs(ref_share - cur_share).sum())


def attribution_drift(
    ctx: Context, version: ModelVersion, live: pd.DataFrame, report: AttributionReport
) -> None:
    """Explain the reference sample and ``live`` rows with ``version``; fill ``report``."""
    from mainsail.explanations._explain import choose_method, explain_view
    from mainsail.explanations._importance import (
        SAMPLED_BACKGROUND,
        SAMPLED_PERMUTATIONS,
        SAMPLED_ROWS,
    )
    from mainsail.explanations._model import model_view
    from mainsail.explanations._tabular import sample_rows

    view = model_view(ctx, version)
    if view.background is None:
        report.skipped = (
            f"{version.address} keeps no reference sample (it was registered without "
            "reference=); register the next version with reference=<the training features>"
        )
        return
    name, explainer = choose_method(view, "auto", {})
    rows, options = LIVE_ROWS, {}
    if not getattr(explainer, "exact", False):
        rows = SAMPLED_ROWS
        if name == "permutation":
            options = {"n_permutations": SAMPLED_PERMUTATIONS, "max_background": SAMPLED_BACKGROUND}
    reference = sample_rows(view.prepare(view.background, "the reference sample"), rows)
    current = sample_rows(view.prepare(live, "the logged rows"), rows)
    ref_e = explain_view(view, reference, name, None, options)
    cur_e = explain_view(view, current, name, None, options)
    features = ref_e.feature_names
    ref_v = pd.DataFrame(_per_row(ref_e._values), columns=features)
    cur_v = pd.DataFrame(_per_row(cur_e._values), columns=features)
    report.attribution_drift, report.importance_shift = compare_attributions(ref_v, cur_v, features)
    report.method = name
    report.n_reference, report.n_current = len(reference), len(current)
    moved = sum(f.drifted for f in report.attribution_drift)
    report.share_drifted = moved / len(features) if features else 0.0


def attribution_report(
    ctx: Context,
    spec: MonitorSpec,
    version: ModelVersion | None,
    live: pd.DataFrame | None,
    drift: DriftReport | None,
    errors: list[str],
) -> AttributionReport | None:
    """What a monitor run says about attribution; ``None`` when there is nothing to say."""
    report = AttributionReport()
    report.importance, report.importance_method = importance_shares(version)
    weight_drift(report, drift)
    if "attribution" in spec.checks:
        if version is None:
            report.skipped = "no model version to explain"
        elif live is None or live.empty:
            report.skipped = "no logged rows in the window (prediction logging off?)"
        else:
            try:
                attribution_drift(ctx, version, live, report)
            except MainsailError as exc:
                report.skipped = exc.message
        if report.skipped:
            errors.append(f"attribution: {report.skipped}")
    elif not report.importance:
        return None
    return report


def render_attribution_html(
    doc: dict[str, Any] | None, table: Callable[[list[str], list[list[Any]]], str]
) -> str:
    """The monitor report's section for an :class:`AttributionReport` (as JSON)."""
    if not doc:
        return ""
    esc = html.escape
    parts = []
    if doc.get("drifted_importance_share") is not None:
        parts.append(
            "<h2>Drift weighted by importance</h2><p>Drifted features carry "
            f"<b>{doc['drifted_importance_share']:.0%}</b> of the model's attribution (mean "
            f"|SHAP|: {esc(str(doc.get('importance_method')))}).</p>"
        )
        parts.append(
            table(
                ["feature", "share of attribution", "drift effect", "verdict"],
                [
                    [
                        f["column"],
                        f"{f['importance_share']:.1%}",
                        f.get("effect_size"),
                        "DRIFT" if f["drifted"] else "ok",
                    ]
                    for f in doc.get("features", [])
                ],
            )
        )
    if doc.get("share_drifted") is not None:
        parts.append(
            f"<h2>Attribution drift</h2><p>{esc(str(doc.get('method')))} attributions of "
            f"{doc.get('n_current')} logged rows vs {doc.get('n_reference')} reference rows; "
            f"importance shift (total variation) {doc.get('importance_shift', 0):.3f}.</p>"
        )
        parts.append(
            table(
                ["feature", "KS", "p (BH)", "mean |attr| ref", "mean |attr| now", "verdict"],
                [
                    [
                        f["feature"],
                        f["statistic"],
                        f["p_adjusted"],
                        f["mean_abs_reference"],
                        f["mean_abs_current"],
                        "DRIFT" if f["drifted"] else "ok",
                    ]
                    for f in doc.get("attribution_drift", [])
                ],
            )
        )
    if doc.get("skipped"):
        parts.append(f"<p class='muted'>Attribution drift skipped: {esc(doc['skipped'])}</p>")
    return "\n".join(parts)


__all__ = [
    "AttributionReport",
    "FeatureAttributionDrift",
    "WeightedFeature",
    "attribution_drift",
    "attribution_report",
    "compare_attributions",
    "importance_shares",
    "render_attribution_html",
    "weight_drift",
]
