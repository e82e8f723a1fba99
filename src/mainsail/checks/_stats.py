"""Paired comparisons of two models on the same rows.

- :func:`paired_bootstrap`: resample rows (the same resample for both models), take the
  metric difference per replicate, report the point difference, a percentile confidence
  interval and the share of replicates on the wrong side of the margin.
- :func:`mcnemar`: for accuracy, the mid-p exact binomial test on the discordant pairs,
  and the interval for the paired difference in accuracy that inverts the same test (so
  the interval excludes 0 exactly when the test rejects; a Wald interval did not).
- :func:`decide`: non-inferiority / superiority from an interval, a margin and minimum
  effects.

Differences are always oriented so that positive means the candidate is better.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mainsail.checks._metrics import Metric, Scored


@dataclass(frozen=True)
class Comparison:
    test: str
    metric: str
    candidate: float
    baseline: float
    delta: float
    low: float
    high: float
    confidence: float
    n: int
    p_value: float | None = None
    replicates: int | None = None
    discordant: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_weights(n: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Row counts of ``replicates`` bootstrap resamples of ``n`` rows (each row sums to n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates)


def paired_bootstrap(
    metric: Metric,
    candidate: Scored,
    baseline: Scored,
    replicates: int = 1000,
    confidence: float = 0.95,
    margin: float = 0.0,
    seed: int = 0,
    chunk: int = 250,
) -> Comparison:
    """Bootstrap CI of ``metric(candidate) - metric(baseline)`` (oriented), same resamples.

    Examples
    --------
    >>> from mainsail.checks._metrics import METRICS, Scored
    >>> y = np.array([0, 1] * 50); good = Scored(y, y, None, [0, 1])
    >>> bad = Scored(y, 1 - y, None, [0, 1])
    >>> c = paired_bootstrap(METRICS["accuracy"], good, bad, replicates=200)
    >>> c.delta, c.low > 0.9
    (1.0, True)
    """
    if candidate.n != baseline.n:
        raise ValueError("paired comparison needs the same rows for both models")
    rng = np.random.default_rng(seed)
    n = candidate.n
    deltas = []
    for start in range(0, replicates, chunk):
        W = bootstrap_weights(n, min(chunk, replicates - start), rng)
        a = metric.replicate(candidate, W)
        b = metric.replicate(baseline, W)
        deltas.append(a - b if metric.higher_is_better else b - a)
    d = np.concatenate(deltas)
    d = d[np.isfinite(d)]
    cand, base = metric.value(candidate), metric.value(baseline)
    point = metric.better(cand, base)
    alpha = 1 - confidence
    if len(d) < max(10, replicates // 2):
        low = high = float("nan")
        p = None
    else:
        low, high = (float(x) for x in np.quantile(d, [alpha / 2, 1 - alpha / 2]))
        p = float((np.sum(d <= margin) + 1) / (len(d) + 1))  # one-sided, vs the margin
    return Comparison(
        "bootstrap", metric.name, cand, base, point, low, high, confidence, n, p, len(d)
    )


def _mid_p_tails(b: int, k: int, pi: float) -> tuple[float, float]:
    """Mid-p tails of ``b`` successes in ``k`` trials: P(X < b) + P(X = b) / 2, and the
    upper one, P(X > b) + P(X = b) / 2."""
    from scipy import stats

    half = 0.5 * float(stats.binom.pmf(b, k, pi))
    below = float(stats.binom.cdf(b - 1, k, pi)) if b > 0 else 0.0
    above = float(stats.binom.sf(b, k, pi))
    return below + half, above + half


def _mid_p_interval(b: int, k: int, alpha: float) -> tuple[float, float]:
    """The mid-p interval of a binomial proportion (inverts the mid-p test at alpha/2 a side)."""
    from scipy.optimize import brentq

    lo = 0.0 if b == 0 else brentq(lambda x: _mid_p_tails(b, k, x)[1] - alpha / 2, 0.0, 1.0)
    hi = 1.0 if b == k else brentq(lambda x: _mid_p_tails(b, k, x)[0] - alpha / 2, 0.0, 1.0)
    return float(lo), float(hi)


def mcnemar(candidate: Scored, baseline: Scored, confidence: float = 0.95) -> Comparison:
    """McNemar's test on accuracy: the mid-p exact test, and the interval it implies.

    Given ``k`` discordant pairs, the candidate is the one right in ``b`` of them, a
    binomial(k, pi) with pi = 1/2 when both models are as accurate. The p-value is the
    two-sided mid-p; the interval is the mid-p interval of pi mapped to the accuracy
    difference, ``(2 pi - 1) k / n``, so the interval excludes 0 exactly when p < 1 -
    ``confidence`` (a Wald interval passed 4 discordant pairs to 0 as a significant gain).

    Examples
    --------
    >>> from mainsail.checks._metrics import Scored
    >>> y = np.zeros(100, dtype=int); a = y.copy(); b = y.copy(); b[:30] = 1
    >>> c = mcnemar(Scored(y, a, None, [0, 1]), Scored(y, b, None, [0, 1]))
    >>> c.discordant, round(c.delta, 2), c.p_value < 1e-6, c.low > 0.2
    ((30, 0), 0.3, True, True)
    """
    ok_a = candidate.pred == candidate.y
    ok_b = baseline.pred == baseline.y
    n = len(ok_a)
    b = int(np.sum(ok_a & ~ok_b))  # only the candidate right
    c = int(np.sum(~ok_a & ok_b))  # only the baseline right
    k = b + c
    if k == 0:
        p, low, high = 1.0, 0.0, 0.0
    else:
        p = min(1.0, 2 * min(_mid_p_tails(b, k, 0.5)))
        pi_lo, pi_hi = _mid_p_interval(b, k, 1 - confidence)
        low, high = (2 * pi_lo - 1) * k / n, (2 * pi_hi - 1) * k / n
    return Comparison(
        "mcnemar",
        "accuracy",
        float(ok_a.mean()),
        float(ok_b.mean()),
        float((b - c) / n),
        float(low),
        float(high),
        confidence,
        n,
        p,
        None,
        (b, c),
    )


@dataclass(frozen=True)
class Decision:
    status: str  # pass | fail | inconclusive
    reason: str


def decide(
    comp: Comparison,
    margin: float,
    min_abs_change: float | None = None,
    min_rel_change: float | None = None,
) -> Decision:
    """Non-inferiority (``margin`` <= 0) or superiority (``margin`` > 0) from the interval.

    Passes when the lower confidence bound of the oriented difference clears ``margin``
    and the point difference clears the minimum effects that are set (absolute, and
    relative to the baseline's value). A difference that cannot be estimated is inconclusive.

    Examples
    --------
    >>> c = Comparison("bootstrap", "roc_auc", 0.85, 0.84, 0.01, 0.002, 0.018, 0.95, 500)
    >>> decide(c, margin=-0.01).status, decide(c, margin=0.005).status
    ('pass', 'fail')
    """
    if not (np.isfinite(comp.low) and np.isfinite(comp.delta)):
        return Decision(
            "inconclusive",
            f"the difference in {comp.metric} could not be estimated on {comp.n} rows "
            "(too few rows, or the metric is undefined there)",
        )
    what = "non-inferior" if margin <= 0 else "superior"
    ci = f"{comp.confidence:.0%} CI [{comp.low:+.4g}, {comp.high:+.4g}]"
    if comp.low < margin:
        worse = comp.high < margin
        return Decision(
            "fail",
            f"not shown {what}: {comp.metric} difference {comp.delta:+.4g}, {ci}; the lower "
            f"bound is below the margin {margin:+.4g}"
            + (" (significantly worse)" if worse else " (the data cannot rule out a loss)"),
        )
    if min_abs_change is not None and comp.delta < min_abs_change:
        return Decision(
            "fail",
            f"{comp.metric} changed by {comp.delta:+.4g} ({ci}), less than the minimum "
            f"absolute change {min_abs_change:+.4g}",
        )
    rel = comp.delta / abs(comp.baseline) if comp.baseline else float("inf")
    if min_rel_change is not None and rel < min_rel_change:
        return Decision(
            "fail",
            f"{comp.metric} changed by {rel:+.2%} relative to the baseline, less than the "
            f"minimum relative change {min_rel_change:+.2%}",
        )
    return Decision("pass", f"{what}: {comp.metric} difference {comp.delta:+.4g}, {ci}")
