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


def _grid(ref: ColumnData, cur: ColumnData, bins: int = _GRID) -> np.ndarray:
    lo = np.nanmin([ref.bounds()[0], cur.bounds()[0]])
    hi = np.nanmax([ref.bounds()[1], cur.bounds()[1]])
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0 if np.isfinite(lo) else 1.0
        lo = lo if np.isfinite(lo) else 0.0
    return np.linspace(lo, hi, bins + 1)


def _probs(ref: ColumnData, cur: ColumnData) -> tuple[np.ndarray, np.ndarray]:
    """Aligned category frequencies (numeric columns: mass per grid bin)."""
    if ref.kind == "numeric":
        # About sqrt(n) bins: with a fixed fine grid, a few thousand rows leave most bins
        # nearly empty, and two samples of one distribution read as far apart.
        bins = min(_GRID, max(10, math.isqrt(max(min(ref.n, cur.n), 0))))
        g = _grid(ref, cur, bins)
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
    effect_floor = 0.05
    auto = AutoChoice(kinds=("numeric",), max_n=1000)  # exact on small samples

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
    effect_floor = None
    auto = AutoChoice(kinds=("numeric",), min_n=1001)  # p-values flag trivia on large ones

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
    effect_floor = None
    auto = AutoChoice(kinds=("categorical",), min_n=1001)

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
    effect_floor = None
    auto = None  # only when named

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
    effect_floor = 0.05
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
        v = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
        return DriftScore(float(chi2), float(p), v)


class ZTest:
    """Two-proportion z-test for binary columns; effect size is Cohen's h."""

    name = "z"
    kinds = ("categorical",)
    threshold = 0.05
    uses_p_value = True
    effect_floor = 0.1
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
