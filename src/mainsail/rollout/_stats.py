"""Statistics for rollout analysis and A/B reports.

Two-proportion z-test for rates, Welch's t-test for means (from summary statistics, so
replicas and windows merge without raw data), minimum sample sizes, and the
Jensen-Shannon divergence between prediction distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TestResult:
    """``difference`` is b - a; the interval has confidence ``1 - alpha``."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float


def _norm_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def two_proportion_ztest(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = 0.05) -> TestResult:
    """Compare the rates ``x_a / n_a`` and ``x_b / n_b``.

    The p-value uses the pooled standard error (the null hypothesis is equal rates); the
    confidence interval of the difference uses the unpooled one (Wald).

    Examples
    --------
    >>> r = two_proportion_ztest(100, 1000, 130, 1000)
    >>> round(r.difference, 3), r.p_value < 0.05
    (0.03, True)
    """
    from scipy.stats import norm

    if n_a <= 0 or n_b <= 0:
        raise ValueError(f"both samples need at least one trial; got n_a={n_a}, n_b={n_b}")
    if not (0 <= x_a <= n_a and 0 <= x_b <= n_b):
        raise ValueError(f"successes must lie in [0, n]; got {x_a}/{n_a} and {x_b}/{n_b}")
    p_a, p_b = x_a / n_a, x_b / n_b
    diff = p_b - p_a
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se0 == 0:
        z, p = 0.0, 1.0
    else:
        z = diff / se0
        p = float(2 * norm.sf(abs(z)))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = _norm_ppf(1 - alpha / 2) * se
    return TestResult(diff, diff - half, diff + half, min(max(p, 0.0), 1.0), z)


def welch_ttest(
    mean_a: float,
    var_a: float,
    n_a: int,
    mean_b: float,
    var_b: float,
    n_b: int,
    alpha: float = 0.05,
) -> TestResult:
    """Welch's unequal-variance t-test from summary statistics (sample variances).

    Examples
    --------
    >>> r = welch_ttest(10.0, 4.0, 50, 11.0, 9.0, 60)
    >>> round(r.difference, 2)
    1.0
    """
    from scipy.stats import t

    if n_a < 2 or n_b < 2:
        raise ValueError(f"Welch's test needs two or more samples per arm; got {n_a} and {n_b}")
    if var_a < 0 or var_b < 0:
        raise ValueError("variances must be non-negative")
    diff = float(mean_b - mean_a)
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return TestResult(diff, diff, diff, 1.0 if diff == 0 else 0.0, 0.0)
    df = (va + vb) ** 2 / ((va**2) / (n_a - 1) + (vb**2) / (n_b - 1))
    stat = diff / se
    p = float(2 * t.sf(abs(stat), df))
    half = float(t.ppf(1 - alpha / 2, df)) * se
    return TestResult(diff, diff - half, diff + half, min(max(p, 0.0), 1.0), stat)


def min_sample_size_proportions(
    p_base: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Samples per arm to detect an absolute change ``mde`` from rate ``p_base``.

    Examples
    --------
    >>> min_sample_size_proportions(0.10, 0.02)
    3841
    """
    if mde == 0:
        raise ValueError("the minimum detectable effect must be non-zero")
    p_b = p_base + mde
    if not 0 <= p_b <= 1:  # no room above a rate of 1 (or below 0): the change the other way
        p_b = p_base - mde
    p_b = min(max(p_b, 1e-9), 1 - 1e-9)
    p_a = min(max(p_base, 1e-9), 1 - 1e-9)
    za, zb = _norm_ppf(1 - alpha / 2), _norm_ppf(power)
    p_bar = (p_a + p_b) / 2
    num = za * math.sqrt(2 * p_bar * (1 - p_bar)) + zb * math.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b)
    )
    return int(math.ceil((num / abs(p_b - p_a)) ** 2))


def min_sample_size_means(sd: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Samples per arm to detect a difference of means ``mde`` with standard deviation ``sd``.

    Examples
    --------
    >>> min_sample_size_means(1.0, 0.5)
    63
    """
    if mde == 0:
        raise ValueError("the minimum detectable effect must be non-zero")
    za, zb = _norm_ppf(1 - alpha / 2), _norm_ppf(power)
    return int(math.ceil(2 * ((za + zb) * sd / abs(mde)) ** 2))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two count or probability vectors.

    Examples
    --------
    >>> js_divergence(np.array([1, 0]), np.array([0, 1]))
    1.0
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"the vectors differ in shape: {p.shape} and {q.shape}")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("expected non-negative vectors with a positive sum")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return float(min(max(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0), 1.0))
