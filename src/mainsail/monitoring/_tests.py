"""Drift tests behind one small protocol, registered by name.

Each test scores a reference column against a current one and returns the statistic,
a p-value where the test has one, and an effect size. Tests work on raw columns and on
sketches alike (see ``_columns``).

What the drift engine needs to know about a test is a property of the test class, for the
built-ins as for anyone's: the column kinds it scores, its threshold, whether it judges by
p-value, the effect-size floor a p-value verdict must also clear, and (``auto``) the columns
it is picked for when a monitor names no test. Tests register in :data:`DRIFT_TESTS`
(entry-point group ``mainsail.drift_tests``), the built-ins included.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from mainsail.core._errors import InvalidValueError, MainsailError
from mainsail.core._plugins import Registry
from mainsail.monitoring._columns import ColumnData

KINDS = ("numeric", "categorical")
log = logging.getLogger("mainsail.monitoring")
_BROKEN: set[str] = set()

_GRID = 512
_EPS = 1e-4
_LN2 = math.log(2)

#: Drift that matters, in one unit for every test: a location shift of this many standard
#: deviations of a normal column. Each built-in test's effect floor is its own statistic for
#: that shift, and categorical distances are put on the same scale through their local
#: equivalence (chi-square divergence ~ shift squared), so "drifted" means a change of the
#: same size whichever test scored the column. 0.075 sits between the 0.05 sd a monitor
#: should ignore and the 0.1 sd it should report.
PRACTICAL_SHIFT_SD = 0.075

#: Share of each tail the quantile statistics leave out, so that a few wild values (one
#: 1e6 among 30k rows) cannot move them; shifts of the bulk of the data still show.
_TRIM = 0.005


def _trim(n: int) -> float:
    """The tail share to leave out: 0.5 %, and at least three rows on small samples."""
    return min(max(_TRIM, 3 / max(n, 1)), 0.02)


@dataclass(frozen=True)
class DriftScore:
    statistic: float
    p_value: float | None
    effect_size: float


@dataclass(frozen=True)
class AutoChoice:
    """The columns a test is chosen for when none is named: their kinds, the sample size of
    the smaller side and the number of categories (bounds inclusive; ``None``: unbounded).
    Among the tests that apply, the highest ``priority`` wins, then the name.

    Examples
    --------
    >>> AutoChoice(kinds=("numeric",), max_n=1000).applies("numeric", 500, 800, 0)
    True
    """

    kinds: tuple[str, ...]
    min_n: int = 0
    max_n: int | None = None
    max_categories: int | None = None
    priority: int = 0

    def applies(self, kind: str, n_ref: int, n_cur: int, n_categories: int) -> bool:
        n = min(n_ref, n_cur)
        return (
            kind in self.kinds
            and n >= self.min_n
            and (self.max_n is None or n <= self.max_n)
            and (self.max_categories is None or n_categories <= self.max_categories)
        )


@runtime_checkable
class DriftTest(Protocol):
    """``score(reference, current)``; drift when p < alpha, or statistic >= threshold.

    Optional class attributes (default ``None``): ``effect_floor``, the effect size a
    p-value verdict must also reach, so huge samples do not flag trivial shifts; ``auto``,
    an :class:`AutoChoice` saying which columns the test is picked for by default.
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]
    threshold: ClassVar[float]  # alpha for tests with a p-value, else a distance
    uses_p_value: ClassVar[bool]

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore: ...


def robust_scale(col: ColumnData) -> float:
    """The spread of a column in standard deviations of a normal one, from its quantiles.

    The interquartile range / 1.349; when a quarter of the rows share one value, the
    5-95 % range / 3.29, then the 0.5-99.5 % range / 5.15; the standard deviation only when
    99 % of the rows are one value. One extreme value moves none of these, unlike the
    standard deviation (one 1e6 among 30k standard normal rows makes it ~5800).

    Examples
    --------
    >>> import numpy as np
    >>> from mainsail.monitoring._columns import RawColumn
    >>> x = np.random.default_rng(0).normal(0, 2, 10_000); x[0] = 1e6
    >>> round(robust_scale(RawColumn(x, "numeric")), 1)
    2.0
    """
    q = col.quantiles(np.array([0.005, 0.05, 0.25, 0.75, 0.95, 0.995]))
    with np.errstate(over="ignore", invalid="ignore"):
        for lo, hi, z in ((2, 3, 1.349), (1, 4, 3.29), (0, 5, 5.152)):
            width = float(q[hi] - q[lo])
            if np.isfinite(width) and width > 0:
                return width / z
    return float(col.std())


def _edges(ref: ColumnData, cur: ColumnData) -> np.ndarray:
    """Bin edges at the reference's quantiles (bins of equal reference mass).

    Equal-mass bins put the resolution where the data is, whatever its range: a grid from
    min to max puts almost every row in one bin once a single extreme value stretches it.
    The first edge sits just below the reference's minimum, so values below it (a column
    that moved down, or a constant that changed) have a bin of their own.
    """
    # About 2 n^(1/3) bins (10 to 100): the sampling noise of a binned distance grows with the
    # bins over the rows, and with sqrt(n) bins two samples of one distribution read further
    # apart than a practically relevant shift until ~100k rows.
    n = max(min(ref.n, cur.n), 0)
    bins = min(100, max(10, round(2 * n ** (1 / 3))))
    qs = ref.quantiles(np.linspace(0.0, 1.0, bins + 1))
    qs = qs[np.isfinite(qs)]
    if not qs.size:
        return qs
    return np.unique(np.concatenate([[np.nextafter(qs[0], -np.inf)], qs]))


def _probs(ref: ColumnData, cur: ColumnData) -> tuple[np.ndarray, np.ndarray]:
    """Aligned category frequencies (numeric columns: mass per reference-quantile bin)."""
    if ref.kind == "numeric":
        e = _edges(ref, cur)
        p = np.diff(np.concatenate([[0.0], ref.cdf(e), [1.0]]))
        q = np.diff(np.concatenate([[0.0], cur.cdf(e), [1.0]]))
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


def gamma_sf(x: float, shape: float, scale: float = 1.0) -> float:
    """P(X > x) for X ~ Gamma(shape, scale): the regularised upper incomplete gamma.

    Series below ``shape + 1``, Lentz's continued fraction above (Numerical Recipes 6.2), to
    ~1e-12; kept here so that scoring large samples and sketches never imports
    ``scipy.stats`` (over a second on a cold start, more than the whole check).

    Examples
    --------
    >>> round(gamma_sf(2.0, 1.0), 6)  # exp(-2)
    0.135335
    """
    if x <= 0:
        return 1.0
    if shape <= 0 or not math.isfinite(x):
        return 0.0
    z = x / scale
    log_front = shape * math.log(z) - z - math.lgamma(shape)
    if z < shape + 1:
        term = total = 1.0 / shape
        a = shape
        for _ in range(10_000):
            a += 1
            term *= z / a
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return float(min(max(1.0 - total * math.exp(log_front), 0.0), 1.0))
    tiny = 1e-300
    b = z + 1 - shape
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - shape)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return float(min(max(math.exp(log_front) * h, 0.0), 1.0))


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-square with ``df`` degrees of freedom."""
    return gamma_sf(x, df / 2, 2.0)


def _js_test(p: np.ndarray, q: np.ndarray, n: int, m: int) -> DriftScore:
    """JS distance of two frequency vectors of ``n`` and ``m`` rows, with a p-value and an
    effect size cleared of sampling noise.

    For two samples of one distribution over ``k`` cells, ``8 ln2 JS^2 / (1/n + 1/m)``
    (JS in bits) is asymptotically chi-square with ``k - 1`` degrees of freedom, and
    ``JS^2`` has expectation ``(k - 1) (1/n + 1/m) / (8 ln 2)``: the effect size is the
    distance with that expected noise taken out, so many cells on few rows do not read as
    drift.
    """
    if n <= 0 or m <= 0 or p.sum() == 0 or q.sum() == 0:
        return DriftScore(0.0, 1.0, 0.0)
    d = jensenshannon(p, q)
    k = int(np.count_nonzero((p + q) > 0))
    inv = 1.0 / n + 1.0 / m
    effect = math.sqrt(max(d * d - (k - 1) * inv / (8 * _LN2), 0.0))
    p_value = chi2_sf(8 * _LN2 * d * d / inv, k - 1) if k > 1 else 1.0
    return DriftScore(d, p_value, effect)


def _normal_shift_js(delta: float) -> float:
    """JS distance (bits) between N(0, 1) and N(delta, 1), on a fine grid."""
    x = np.linspace(-12.0, 12.0 + delta, 48_001)
    return jensenshannon(np.exp(-(x**2) / 2), np.exp(-((x - delta) ** 2) / 2))


#: Each test's statistic for a PRACTICAL_SHIFT_SD shift of a normal column: the floors.
KS_FLOOR = math.erf(PRACTICAL_SHIFT_SD / (2 * math.sqrt(2)))  # 2 Phi(delta / 2) - 1
WASSERSTEIN_FLOOR = PRACTICAL_SHIFT_SD  # in (robust) standard deviations
JS_FLOOR = _normal_shift_js(PRACTICAL_SHIFT_SD)  # ~ delta / sqrt(8 ln 2)
COHEN_H_FLOOR = PRACTICAL_SHIFT_SD  # h^2 is the binary column's chi-square divergence


class KS:
    """Two-sample Kolmogorov-Smirnov (exact on raw data, on the CDF grid for sketches)."""

    name = "ks"
    kinds = ("numeric",)
    threshold = 0.05
    uses_p_value = True
    effect_floor = KS_FLOOR
    auto = AutoChoice(kinds=("numeric",), max_n=1000)  # exact on small samples

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        from scipy import stats

        n, m = reference.n, current.n
        if not n or not m:
            return DriftScore(0.0, 1.0, 0.0)
        a, b = reference.raw(), current.raw()
        if a is not None and b is not None:
            res = stats.ks_2samp(a, b)
            return DriftScore(float(res.statistic), float(res.pvalue), float(res.statistic))
        # The largest CDF gap, looked for at both sides' quantiles (ranks, not a grid over
        # the range, which one extreme value would stretch).
        u = np.linspace(0.0, 1.0, _GRID + 1)
        g = np.unique(np.concatenate([reference.quantiles(u), current.quantiles(u)]))
        g = g[np.isfinite(g)]
        d = float(np.max(np.abs(reference.cdf(g) - current.cdf(g)))) if g.size else 0.0
        en = n * m / (n + m) if n and m else 0
        p = float(stats.kstwo.sf(d, max(int(round(en)), 1))) if en else 1.0
        return DriftScore(d, p, d)


def _rank_error(col: ColumnData) -> float:
    fn = getattr(col, "rank_error", None)
    return float(fn()) if callable(fn) else 0.0


def _slope(qs: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quantile function's slope Q'(u) on a coarse grid (less noisy than at every u)."""
    idx = np.linspace(0, len(u) - 1, 121).round().astype(np.intp)
    uu = u[idx]
    with np.errstate(over="ignore", invalid="ignore"):
        return uu, np.gradient(qs[idx], uu)


def _wasserstein_p(qs: np.ndarray, u: np.ndarray, w: float, inv: float) -> float:
    """P(W >= w) for two samples of the reference's distribution (a gamma approximation).

    Under no drift, (Q_ref - Q_cur)(u) / sqrt(1/n + 1/m) tends to B(u) Q'(u), B a Brownian
    bridge, so the trimmed distance tends to the integral of |B| Q': its mean and variance
    follow from the reference's quantile function. Heavy tails make Q' large near the
    trimmed ends, so their sampling noise is judged as noise, not drift. ``inv`` is
    ``1/n + 1/m`` (plus the sketches' rank variance).
    """
    uu, slope = _slope(qs, u)
    if not np.all(np.isfinite(slope)):
        return 1.0 if w == 0 else 0.0
    du = float(uu[1] - uu[0]) if len(uu) > 1 else 0.0
    sd = np.sqrt(uu * (1 - uu))
    mean = math.sqrt(2 / math.pi) * float(np.sum(sd * slope)) * du * math.sqrt(inv)
    if mean <= 0:
        return 1.0 if w == 0 else 0.0
    lo, hi = np.minimum.outer(uu, uu), np.maximum.outer(uu, uu)
    rho = np.clip(lo * (1 - hi) / np.outer(sd, sd), -1.0, 1.0)
    # Cov(|X|, |Y|) of standard normals with correlation rho
    cov = (2 / math.pi) * (np.sqrt(1 - rho**2) + rho * np.arcsin(rho) - 1)
    weights = sd * slope * du
    var = float(weights @ cov @ weights) * inv
    if var <= 0:
        return 1.0 if w <= mean else 0.0
    return gamma_sf(w, mean * mean / var, scale=var / mean)


class Wasserstein:
    """Wasserstein-1 distance in units of the reference's spread, both robust.

    The distance is the mean gap between the two quantile functions over the central 99 %
    of the mass (at least three rows left out at each end); the unit is
    :func:`robust_scale` (the IQR / 1.349, the standard deviation for normal data). So a
    shift of the bulk by 0.1 sd reads 0.1, and a single extreme value on either side
    changes neither the distance nor the unit. The p-value (:func:`_wasserstein_p`) keeps
    the sampling noise of heavy-tailed columns from reading as drift; the effect floor is
    :data:`PRACTICAL_SHIFT_SD`.
    """

    name = "wasserstein"
    kinds = ("numeric",)
    threshold = 0.05
    uses_p_value = True
    effect_floor = WASSERSTEIN_FLOOR
    auto = AutoChoice(kinds=("numeric",), min_n=1001)  # KS flags trivia on large samples

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        n, m = reference.n, current.n
        if not n or not m:
            return DriftScore(0.0, 1.0, 0.0)
        t = _trim(min(n, m))
        u = np.linspace(t, 1 - t, 991)
        qs = reference.quantiles(u)
        with np.errstate(over="ignore", invalid="ignore"):
            gaps = np.abs(qs - current.quantiles(u))
            w = float(np.mean(gaps)) * (1 - 2 * t)
        if not np.isfinite(w):
            return DriftScore(math.inf, 0.0, math.inf)
        # A sketch's quantiles are off by its rank error: count it as sampling noise.
        rank_var = _rank_error(reference) ** 2 + _rank_error(current) ** 2
        inv = 1.0 / n + 1.0 / m
        p = _wasserstein_p(qs, u, w, inv + 4 * rank_var)
        # The effect: each gap with its expected noise taken out (E gap^2 = shift^2 + noise^2),
        # so a noisy column's distance does not pass for a shift.
        uu, slope = _slope(qs, u)
        with np.errstate(over="ignore", invalid="ignore"):
            noise = (u * (1 - u) * inv + rank_var) * np.interp(u, uu, slope) ** 2
            clean = np.sqrt(np.clip(gaps**2 - noise, 0.0, None))
            effect = float(np.mean(clean)) * (1 - 2 * t) if np.all(np.isfinite(noise)) else w
        scale = robust_scale(reference)
        if scale > 0:
            return DriftScore(w / scale, p, effect / scale)
        return DriftScore(0.0 if w == 0 else math.inf, p, 0.0 if effect == 0 else math.inf)


class JensenShannon:
    """Jensen-Shannon distance (base 2, in [0, 1]) between the two distributions.

    Numeric columns are binned at the reference's quantiles. The p-value is the distance's
    asymptotic chi-square test; the effect size is the distance less its expected sampling
    noise, and must reach the distance of a :data:`PRACTICAL_SHIFT_SD` normal shift.
    """

    name = "jensenshannon"
    kinds = ("numeric", "categorical")
    threshold = 0.05
    uses_p_value = True
    effect_floor = JS_FLOOR
    auto = AutoChoice(kinds=("categorical",), min_n=1001)

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        p, q = _probs(reference, current)
        return _js_test(p, q, reference.n, current.n)


class PSI:
    """Population Stability Index on the reference's deciles (categories: their shares).

    Its threshold stays the industry's 0.1 (a ~0.3 sd normal shift), as users who name it
    expect, rather than the shared practical floor.
    """

    name = "psi"
    kinds = ("numeric", "categorical")
    threshold = 0.1
    uses_p_value = False
    effect_floor = None
    auto = None  # only when named

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        if reference.kind == "numeric":
            # Deciles, plus the reference's range: values beyond it (a constant that moved,
            # a column that left its range) get bins of their own.
            qs = reference.quantiles(np.linspace(0.0, 1.0, 11))
            qs = qs[np.isfinite(qs)]
            edges = (
                np.unique(np.concatenate([[np.nextafter(qs[0], -np.inf)], qs])) if qs.size else qs
            )
            p = np.diff(np.concatenate([[0.0], reference.cdf(edges), [1.0]]))
            q = np.diff(np.concatenate([[0.0], current.cdf(edges), [1.0]]))
        else:
            p, q = _probs(reference, current)
        p, q = np.clip(p, _EPS, None), np.clip(q, _EPS, None)
        psi = float(np.sum((q - p) * np.log(q / p)))
        return DriftScore(psi, None, psi)


class ChiSquare:
    """Chi-square test of homogeneity on category counts.

    The effect size is the Jensen-Shannon one (see :class:`JensenShannon`), as for large
    samples: unlike Cramér's V it does not shrink when one side has many more rows.
    """

    name = "chisquare"
    kinds = ("categorical",)
    threshold = 0.05
    uses_p_value = True
    effect_floor = JS_FLOOR
    auto = AutoChoice(kinds=("categorical",), max_n=1000)

    def score(self, reference: ColumnData, current: ColumnData) -> DriftScore:
        from scipy import stats

        rc, cc = reference.counts(), current.counts()
        keys = sorted(set(rc) | set(cc))
        table = np.array([[rc.get(k, 0) for k in keys], [cc.get(k, 0) for k in keys]], dtype=float)
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
            return DriftScore(0.0, 1.0, 0.0)
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        n, m = table.sum(axis=1)
        effect = _js_test(table[0], table[1], int(n), int(m)).effect_size
        return DriftScore(float(chi2), float(p), effect)


class ZTest:
    """Two-proportion z-test for binary columns; effect size is Cohen's h."""

    name = "z"
    kinds = ("categorical",)
    threshold = 0.05
    uses_p_value = True
    effect_floor = COHEN_H_FLOOR
    # Binary columns: the two-proportion test beats chi-square there.
    auto = AutoChoice(kinds=("categorical",), max_n=1000, max_categories=2, priority=1)

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


def check_drift_test(obj: Any) -> type:
    """``obj`` if it is a usable drift test class, else an error saying what is wrong.

    A drift test is a class with ``name`` (str), ``kinds`` (a non-empty tuple of numeric,
    categorical), ``threshold`` (a number), ``uses_p_value`` (bool) and a ``score(reference,
    current)`` method returning a :class:`DriftScore`; optionally ``effect_floor`` (a number
    >= 0, or None) and ``auto`` (an :class:`AutoChoice`, or None). It is built without
    arguments, once per use.

    Examples
    --------
    >>> check_drift_test(KS) is KS
    True
    """
    what = getattr(obj, "__name__", repr(obj))
    if not isinstance(obj, type):
        raise InvalidValueError(
            f"A drift test must be a class (it is built once per use). Got {what} "
            f"({type(obj).__name__})."
        )
    problems = []
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        problems.append(f"'name' must be a non-empty string (got {name!r})")
    kinds = getattr(obj, "kinds", None)
    if not isinstance(kinds, tuple) or not kinds or not set(kinds) <= set(KINDS):
        problems.append(f"'kinds' must be a non-empty tuple of {', '.join(KINDS)} (got {kinds!r})")
    threshold = getattr(obj, "threshold", None)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        problems.append(f"'threshold' must be a number (got {threshold!r})")
    if not isinstance(getattr(obj, "uses_p_value", None), bool):
        problems.append(
            f"'uses_p_value' must be True or False (got {getattr(obj, 'uses_p_value', None)!r})"
        )
    floor = getattr(obj, "effect_floor", None)
    if floor is not None and (
        isinstance(floor, bool) or not isinstance(floor, int | float) or floor < 0
    ):
        problems.append(f"'effect_floor' must be a number >= 0 or None (got {floor!r})")
    auto = getattr(obj, "auto", None)
    if auto is not None and not isinstance(auto, AutoChoice):
        problems.append(f"'auto' must be an AutoChoice or None (got {auto!r})")
    elif auto is not None and not set(auto.kinds) <= set(kinds or ()):
        problems.append(f"'auto' picks it for {auto.kinds} columns but it scores {kinds!r}")
    if not callable(getattr(obj, "score", None)):
        problems.append("it needs a score(reference, current) method")
    if problems:
        raise InvalidValueError(
            f"{what} is not a drift test: " + "; ".join(problems) + ". See "
            "mainsail.monitoring.DriftTest for the protocol."
        )
    return obj


def _validate(name: str, obj: Any) -> None:
    check_drift_test(obj)
    if obj.name != name:
        raise InvalidValueError(
            f"The drift test registered as {name!r} calls itself {obj.name!r}; register it "
            "under its own name."
        )


#: Every drift test by name: the built-ins, ``register_test``'s and the entry points of the
#: group ``mainsail.drift_tests`` (``name = "package.module:Class"``).
# "Valid tests are: ..." as the message always read.
DRIFT_TESTS: Registry[type] = Registry(
    "drift test", group="mainsail.drift_tests", validate=_validate, plural="tests"
)
for _builtin in (KS, Wasserstein, JensenShannon, PSI, ChiSquare, ZTest):
    DRIFT_TESTS.register(_builtin.name, _builtin)


def register_test(cls: Any, name: str | None = None) -> Any:
    """Register a drift test class under its ``name`` (usable as a class decorator).

    ``cls`` may also be ``"package.module:Class"``, imported on first use; then give
    ``name``.

    Examples
    --------
    >>> @register_test
    ... class MeanShift:  # doctest: +SKIP
    ...     name = "mean_shift"; kinds = ("numeric",); threshold = 0.25; uses_p_value = False
    ...     def score(self, reference, current): ...
    """
    if isinstance(cls, str):
        if not name:
            raise InvalidValueError(
                f"Registering the drift test {cls!r} by its import path needs its name: "
                "register_test('package.module:Class', name='my_test')."
            )
        DRIFT_TESTS.register(name, cls)
        return cls
    check_drift_test(cls)
    if name is not None and name != cls.name:
        raise InvalidValueError(
            f"The drift test class {cls.__name__} calls itself {cls.name!r}, not {name!r}; "
            "register it under its own name."
        )
    DRIFT_TESTS.register(cls.name, cls)
    return cls


def get_test(name: str) -> DriftTest:
    """A new instance of the drift test ``name`` (the error lists the valid ones)."""
    test: DriftTest = DRIFT_TESTS.get(name)()
    return test


def available_tests() -> list[str]:
    return DRIFT_TESTS.names()


def auto_candidates() -> list[tuple[AutoChoice, str]]:
    """The tests that may be picked by default, best first (priority, then name).

    A plug-in that does not load is left out (and logged), so one broken install does not
    stop every drift check; naming it still raises its error.
    """
    found = []
    for name in DRIFT_TESTS.names():
        try:
            auto = getattr(DRIFT_TESTS.get(name), "auto", None)
        except MainsailError as exc:
            if name not in _BROKEN:
                _BROKEN.add(name)
                log.warning("drift test %r is left out of the default choice: %s", name, exc)
            continue
        if auto is not None:
            found.append((auto, name))
    return sorted(found, key=lambda item: (-item[0].priority, item[1]))


def choose_test(
    kind: str,
    n_ref: int,
    n_cur: int,
    n_categories: int,
    candidates: list[tuple[AutoChoice, str]] | None = None,
) -> str:
    """The test for a column when none is named: the best whose ``auto`` applies.

    The built-ins follow Evidently's rule of thumb: p-value tests for small samples
    (KS; the z-test for binary columns, chi-square otherwise), distances for large ones
    (Wasserstein; Jensen-Shannon).
    """
    for auto, name in candidates if candidates is not None else auto_candidates():
        if auto.applies(kind, n_ref, n_cur, n_categories):
            return name
    raise InvalidValueError(
        f"No drift test applies by default to a {kind} column with {min(n_ref, n_cur)} rows "
        f"and {n_categories} categories. Name one (tests={{column: name}} or stattest=); "
        f"valid tests are: {', '.join(available_tests())}."
    )
