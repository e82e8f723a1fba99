"""A/B and shadow reports from the fleet's serving stats (next to the database).

The A/B report compares arm b with arm a: rates by a two-proportion z-test, latency means by
Welch's test, each with its interval, p-value and the minimum sample size per arm. The
shadow report says how the shadow's answers agree with stable's and how fast it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.core._errors import RolloutStateError
from mainsail.rollout._analysis import feedback_accuracy, variant_stats
from mainsail.rollout._plan import Plan
from mainsail.rollout._stats import (
    js_divergence,
    min_sample_size_means,
    min_sample_size_proportions,
    two_proportion_ztest,
    welch_ttest,
)
from mainsail.rollout._types import ABReport, Comparison, ShadowReport
from mainsail.serving._variant_stats import MergedStats, prediction_bins

if TYPE_CHECKING:
    from mainsail.store._context import Context


def latest_of(ctx: Context, endpoint: str, strategy: str) -> Plan:
    """The endpoint's newest rollout of ``strategy``, or a clear error."""
    store = ctx.database("A rollout report")
    store.get_endpoint_record(endpoint, history=False)  # an unknown endpoint: say so
    for r in store.list_rollout_records(endpoint, limit=50):
        if r["strategy"] == strategy:
            return Plan.of(r)
    raise RolloutStateError(
        f"Endpoint {endpoint!r} has had no {strategy} rollout. "
        f"Start one with mainsail deploy {endpoint} MODEL --strategy {strategy}."
    )


def _rate(
    metric: str, xa: int, na: int, xb: int, nb: int, alpha: float, mde: float | None
) -> Comparison:
    if na == 0 or nb == 0:
        return Comparison(metric=metric, test="two-proportion z", a=None, b=None, n_a=na,
                          n_b=nb, difference=None, ci_low=None, ci_high=None, p_value=None,
                          min_sample_size=None, significant=False)  # fmt: skip
    r = two_proportion_ztest(xa, na, xb, nb, alpha)
    effect = mde if mde is not None else r.difference
    n = min_sample_size_proportions(xa / na, effect, alpha) if effect else None
    return Comparison(metric=metric, test="two-proportion z", a=xa / na, b=xb / nb, n_a=na,
                      n_b=nb, difference=r.difference, ci_low=r.ci_low, ci_high=r.ci_high,
                      p_value=r.p_value, min_sample_size=n,
                      significant=r.p_value < alpha)  # fmt: skip


def ab_report(ctx: Context, endpoint: str, alpha: float, mde: float | None) -> ABReport:
    """Arm b against arm a of the endpoint's newest A/B test, over its whole life."""
    plan = latest_of(ctx, endpoint, "ab")
    since = int(plan.record["created_at"])
    stats = variant_stats(ctx.database("A rollout report"), plan, 0, since)
    a, b = stats.get("a") or MergedStats(), stats.get("b") or MergedStats()
    comps = [_rate("success_rate", a.ok, a.requests, b.ok, b.requests, alpha, mde)]
    acc = feedback_accuracy(ctx, endpoint, since, ["a", "b"])
    comps.append(_rate("accuracy", acc["a"][0], acc["a"][1], acc["b"][0], acc["b"][1], alpha, mde))
    ma, va, na = a.latency_mean_var()
    mb, vb, nb = b.latency_mean_var()
    if na >= 2 and nb >= 2:
        r = welch_ttest(ma, va, na, mb, vb, nb, alpha)
        sd = ((va + vb) / 2) ** 0.5
        effect = mde if mde is not None else r.difference
        n = min_sample_size_means(sd, effect, alpha) if effect and sd else None
        comps.append(Comparison(metric="latency_ms", test="welch t", a=ma, b=mb, n_a=na, n_b=nb,
                                difference=r.difference, ci_low=r.ci_low, ci_high=r.ci_high,
                                p_value=r.p_value, min_sample_size=n,
                                significant=r.p_value < alpha))  # fmt: skip
    return ABReport(
        endpoint=endpoint,
        arms=["a", "b"],
        requests={"a": a.requests, "b": b.requests},
        comparisons=comps,
        alpha=alpha,
    )


def shadow_report(ctx: Context, endpoint: str) -> ShadowReport:
    """The endpoint's newest shadow against its stable variant, over the shadow's life."""
    plan = latest_of(ctx, endpoint, "shadow")
    since = int(plan.record["created_at"])
    stats = variant_stats(ctx.database("A rollout report"), plan, 0, since)
    st, sh = stats.get("stable") or MergedStats(), stats.get("shadow") or MergedStats()
    div = None
    if st.pred_rows and sh.pred_rows:
        bins = prediction_bins([st, sh])
        if bins is not None:
            div = js_divergence(bins[0], bins[1])
    return ShadowReport(
        endpoint=endpoint,
        stable=plan.stable.address,
        shadow=plan.target.address,
        compared=sh.compared,
        agreement=sh.agree / sh.compared if sh.compared else None,
        mean_abs_diff=sh.abs_diff / sh.compared if sh.compared else None,
        divergence=div,
        stable_p99_ms=st.quantile_ms(0.99),
        shadow_p99_ms=sh.quantile_ms(0.99),
        shadow_p50_ms=sh.quantile_ms(0.5),
        shadow_errors=sh.errors,
        dropped=sh.dropped,
    )


__all__ = ["ab_report", "latest_of", "shadow_report"]
