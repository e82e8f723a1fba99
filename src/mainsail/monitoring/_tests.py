"""Drift tests behind one small protocol, registered by name.

Each test scores a reference column against a current one and returns the statistic,
a p-value where the test has one, and an effect size. Tests work on raw columns and on
sketches alike (see ``_columns``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from mainsail.core._errors import InvalidValueError
from mainsail.monitoring._columns import ColumnData

_GRID = 512
_EPS = 1e-4


@dataclass(frozen=True)
class DriftScore:
    statistic: float
    p_value: float | None
    effect_size: float


@runtime_checkable
class DriftTest(Protocol):
    """``score(reference, current)``; drift when p < alpha, or statistic >= threshold."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]
    threshold: ClassVar[float]  # alpha for tests with a p-value, else a distance
    uses_p_value: ClassVar[bool]

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore: ...


def _grid(ref: ColumnData, cur: ColumnData) -> np.ndarray:
    lo = np.nanmin([ref.bounds()[0], cur.bounds()[0]])
    hi = np.nanmax([ref.bounds()[1], cur.bounds()[1]])
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0 if np.isfinite(lo) else 1.0
        lo = lo if np.isfinite(lo) else 0.0
    return np.linspace(lo, hi, _GRID + 1)


def _probs(ref: ColumnData, cur: ColumnData) -> tuple[np.ndarray, np.ndarray]:
    """Aligned category frequencies (numeric columns: mass per grid bin)."""
    if ref.kind == "numeric":
        g = _grid(ref, cur)
        p = np.diff(np.concatenate([[0.0], ref.cdf(g)]))
        q = np.diff(np.concatenate([[0.0], cur.cdf(g)]))
        return np.clip(p, 0, None), np.clip(q, 0, None)
    rc, cc = ref.counts(), cur.counts()
    keys = sorted(set(rc) | set(cc))
    p = np.array([rc.get(k, 0) for k in keys], dtype="float64")
    q = np.array([cc.get(k, 0) for k in keys], dtype="float64")
    return p / max(p.sum(), 1), q / max(q.sum(), 1)


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, base 2 (scipy's, without importing scipy.spatial: ~1 s)."""
    p = np.asarray(p, dtype="float64") / np.sum(p)
    q = np.asarray(q, dtype="float64") / np.sum(q)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))


class KS:
    """Two-sample Kolmogorov-Smirnov (exact on raw data, on the CDF grid for sketches)."""

    name = "ks"
    kinds = ("numeric",)
    threshold = 0.05
    uses_p_value = True

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        from scipy import stats

        a, b = reference.raw(), current.raw()
        if a is not None and b is not None and a.size and b.size:
            res = stats.ks_2samp(a, b)
            return DriftScore(float(res.statistic), float(res.pvalue), float(res.statistic))
        g = _grid(reference, current)
        d = float(np.max(np.abs(reference.cdf(g) - current.cdf(g))))
        n, m = reference.n, current.n
        en = n * m / (n + m) if n and m else 0
        p = float(stats.kstwo.sf(d, max(int(round(en)), 1))) if en else 1.0
        return DriftScore(d, p, d)


class Wasserstein:
    """Wasserstein-1 distance divided by the reference's standard deviation."""

    name = "wasserstein"
    kinds = ("numeric",)
    threshold = 0.1
    uses_p_value = False

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        g = _grid(reference, current)
        w = float(np.sum(np.abs(reference.cdf(g) - current.cdf(g))[:-1] * np.diff(g)))
        std = reference.std()
        norm = w / std if std > 0 else (0.0 if w == 0 else math.inf)
        return DriftScore(norm, None, norm)


class JensenShannon:
    """Jensen-Shannon distance (base 2, in [0, 1]) between the two distributions."""

    name = "jensenshannon"
    kinds = ("numeric", "categorical")
    threshold = 0.1
    uses_p_value = False

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        p, q = _probs(reference, current)
        if p.sum() == 0 or q.sum() == 0:
            return DriftScore(0.0, None, 0.0)
        d = jensenshannon(p, q)
        return DriftScore(d, None, d)


class PSI:
    """Population Stability Index on the reference's deciles (categories: their shares)."""

    name = "psi"
    kinds = ("numeric", "categorical")
    threshold = 0.1
    uses_p_value = False

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        if reference.kind == "numeric":
            edges = np.unique(reference.quantiles(np.linspace(0.1, 0.9, 9)))
            p = np.diff(np.concatenate([[0.0], reference.cdf(edges), [1.0]]))
            q = np.diff(np.concatenate([[0.0], current.cdf(edges), [1.0]]))
        else:
            p, q = _probs(reference, current)
        p, q = np.clip(p, _EPS, None), np.clip(q, _EPS, None)
        psi = float(np.sum((q - p) * np.log(q / p)))
        return DriftScore(psi, None, psi)


class ChiSquare:
    """Chi-square test of homogeneity on category counts; effect size is Cramér's V."""

    name = "chisquare"
    kinds = ("categorical",)
    threshold = 0.05
    uses_p_value = True

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        from scipy import stats

        rc, cc = reference.counts(), current.counts()
        keys = sorted(set(rc) | set(cc))
        table = np.array([[rc.get(k, 0) for k in keys], [cc.get(k, 0) for k in keys]], dtype=float)
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
            return DriftScore(0.0, 1.0, 0.0)
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        v = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
        return DriftScore(float(chi2), float(p), v)


class ZTest:
    """Two-proportion z-test for binary columns; effect size is Cohen's h."""

    name = "z"
    kinds = ("categorical",)
    threshold = 0.05
    uses_p_value = True

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        from scipy import stats

        rc, cc = reference.counts(), current.counts()
        keys = sorted(set(rc) | set(cc))
        if not keys or reference.n == 0 or current.n == 0:
            return DriftScore(0.0, 1.0, 0.0)
        k = keys[-1]
        p1, p2 = rc.get(k, 0) / reference.n, cc.get(k, 0) / current.n
        pooled = (rc.get(k, 0) + cc.get(k, 0)) / (reference.n + current.n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / reference.n + 1 / current.n))
        z = 0.0 if se == 0 else (p1 - p2) / se
        p = float(2 * stats.norm.sf(abs(z)))
        h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
        return DriftScore(z, p, h)


_REGISTRY: dict[str, type] = {
    t.name: t for t in (KS, Wasserstein, JensenShannon, PSI, ChiSquare, ZTest)
}


def register_test(cls: type) -> type:
    """Register a custom :class:`DriftTest` class under its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        raise InvalidValueError("A drift test class needs a string 'name' attribute.")
    _REGISTRY[name] = cls
    return cls


def get_test(name: str) -> DriftTest:
    cls = _REGISTRY.get(name)
    if cls is None:
        raise InvalidValueError(
            f"Unknown drift test {name!r}. Valid tests are: {', '.join(sorted(_REGISTRY))}."
        )
    test: DriftTest = cls()
    return test


def available_tests() -> list[str]:
    return sorted(_REGISTRY)


def choose_test(kind: str, n_ref: int, n_cur: int, n_categories: int) -> str:
    """Evidently's rule of thumb: p-value tests for small samples, distances for large."""
    small = min(n_ref, n_cur) <= 1000
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    if small:
        return "z" if n_categories <= 2 else "chisquare"
    return "jensenshannon"
