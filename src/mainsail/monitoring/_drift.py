"""The drift engine: per-column tests, false-discovery control, dataset drift.

``drift(reference, current)`` accepts DataFrames, :class:`~mainsail.data.Profile`
sketches, or Parquet paths / Arrow datasets (read one column at a time) on either side. Each column gets a test chosen by its kind and the sample
sizes (or named explicitly). Tests with p-values are corrected across columns with
Benjamini-Hochberg, and a column only drifts when its effect size also clears a floor,
so huge samples do not flag trivial shifts. The floors of the built-in tests all mean the
same size of change (see :data:`~mainsail.monitoring._tests.PRACTICAL_SHIFT_SD`), and a
category the reference never had that makes up at least ``NEW_CATEGORY_SHARE`` of the current
rows drifts its column whatever the test says.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import AliasChoices, BaseModel, Field

from mainsail.core._errors import InvalidValueError
from mainsail.data._profile import OTHER, Profile
from mainsail.data._schema import column_kind
from mainsail.monitoring._columns import ColumnData, RawColumn, SketchColumn, numeric_kind
from mainsail.monitoring._parquet import ColumnSource, is_table_like
from mainsail.monitoring._tests import auto_candidates, choose_test, get_test

#: A category absent from the reference that makes up at least this share of the current
#: rows drifts its column, however the distance reads (upstream added a value).
NEW_CATEGORY_SHARE = 0.01


class ColumnDrift(BaseModel):
    column: str
    kind: str
    test: str
    statistic: float
    p_value: float | None = None
    p_adjusted: float | None = None
    effect_size: float
    threshold: float
    effect_floor: float | None = None
    n_reference: int
    n_current: int
    drifted: bool
    is_prediction: bool = False
    #: Categories absent from the reference in >= NEW_CATEGORY_SHARE of the current rows.
    new_categories: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        p = f", p={self.p_adjusted:.3g}" if self.p_adjusted is not None else ""
        new = f", new categories {self.new_categories}" if self.new_categories else ""
        return (
            f"{self.column}: {self.test}={self.statistic:.4g} (effect {self.effect_size:.3g}{p}, "
            f"n={self.n_reference}/{self.n_current}{new}) {'DRIFT' if self.drifted else 'ok'}"
        )


class DriftReport(BaseModel):
    """Per-column verdicts, the share of drifted columns and the dataset verdict.

    ``share_drifted`` is observed; the dataset has drifted when it reaches the threshold
    ``max_drift_share``. Reports stored under the old key ``drift_share`` still load.
    """

    columns: list[ColumnDrift]
    max_drift_share: float = Field(validation_alias=AliasChoices("max_drift_share", "drift_share"))
    share_drifted: float
    dataset_drift: bool
    prediction: ColumnDrift | None = None
    missing_columns: list[str] = Field(default_factory=list)

    @property
    def drift_share(self) -> float:
        """Deprecated name of :attr:`max_drift_share` (the threshold, not the observed share)."""
        warnings.warn(
            "DriftReport.drift_share is deprecated; use max_drift_share (the threshold) or "
            "share_drifted (the observed share).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.max_drift_share

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        if self.prediction is not None and self.prediction.column == column:
            return self.prediction
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def to_frame(self) -> pd.DataFrame:
        rows = [c.model_dump() for c in self.columns]
        if self.prediction is not None:
            rows.append(self.prediction.model_dump())
        return pd.DataFrame(rows)

    def summary(self) -> str:
        head = (
            f"Dataset drift: {'YES' if self.dataset_drift else 'no'} "
            f"({len(self.drifted_columns)}/{len(self.columns)} columns drifted, "
            f"{self.share_drifted:.0%} vs threshold {self.max_drift_share:.0%})"
        )
        lines = [head] + [f"  - {c.describe()}" for c in self.columns]
        if self.prediction is not None:
            lines.append(f"  prediction {self.prediction.describe()}")
        if self.missing_columns:
            lines.append("  missing from current: " + ", ".join(self.missing_columns))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


#: What either side of :func:`drift` may be.
DriftInput = pd.DataFrame | Profile | ColumnSource | str | os.PathLike[str] | Any
_Side = pd.DataFrame | Profile | ColumnSource


def _side(data: Any, which: str) -> _Side:
    if isinstance(data, pd.DataFrame | Profile | ColumnSource):
        return data
    if is_table_like(data):
        return ColumnSource(data)
    raise InvalidValueError(
        f"Expected {which} to be a DataFrame, a Profile, a Parquet path or a pyarrow "
        f"Dataset/Table. Got {type(data).__name__}."
    )


def _column(source: _Side, name: str, kind: str) -> ColumnData:
    if isinstance(source, Profile):
        return SketchColumn(source.columns[name], kind)
    if isinstance(source, ColumnSource):
        return source.column(name, kind)
    return RawColumn(source[name], kind)


def _kind_of(source: _Side, name: str) -> str:
    if isinstance(source, Profile):
        return numeric_kind(source.columns[name].dtype)
    if isinstance(source, ColumnSource):
        return source.kind_of(name)
    s = source[name]
    if pd.api.types.is_bool_dtype(s.dtype):
        return "categorical"
    return numeric_kind(column_kind(name, s))


def _names(source: _Side) -> list[str]:
    if isinstance(source, ColumnSource):
        return list(source.names)
    if isinstance(source, Profile):
        return list(source.columns)
    return [str(c) for c in source.columns]


def drift(
    reference: DriftInput,
    current: DriftInput,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    stattest: str | None = None,
    thresholds: Mapping[str, float] | None = None,
    max_drift_share: float = 0.5,
    effect_floors: Mapping[str, float] | None = None,
    prediction_column: str | None = None,
    fdr: bool = True,
    drift_share: float | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    Parameters
    ----------
    reference, current : DataFrame, Profile, Parquet path or pyarrow Dataset/Table
        Raw frames, mergeable profiles (e.g. a model version's reference profile and
        live sketches merged over a window), or Parquet files (a file or a folder of them)
        and Arrow data, which are read one column at a time so the whole table is never in
        memory; their verdicts are those of the same data as DataFrames. Sides may differ.
    columns : columns to test (default: every column the reference has).
    tests : per-column test names, e.g. ``{"age": "psi"}``.
    stattest : one test name for every column (overridden by ``tests``).
    thresholds : per-test threshold overrides (alpha for p-value tests).
    max_drift_share : the dataset has drifted when the share of drifted columns reaches
        this.
    effect_floors : per-test effect-size floors for p-value tests (default: each test's
        ``effect_floor``).
    prediction_column : reported as prediction drift, not counted in the share.
    fdr : correct p-values across columns with Benjamini-Hochberg.
    drift_share : deprecated name of ``max_drift_share``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ref = pd.DataFrame({"x": np.random.default_rng(0).normal(size=5000)})
    >>> cur = pd.DataFrame({"x": np.random.default_rng(1).normal(1, 1, size=5000)})
    >>> drift(ref, cur)["x"].drifted
    True
    """
    if drift_share is not None:
        warnings.warn(
            "drift(drift_share=...) is deprecated; use max_drift_share (the threshold the "
            "observed share_drifted is compared with).",
            DeprecationWarning,
            stacklevel=2,
        )
        max_drift_share = drift_share
    if not 0 < max_drift_share <= 1:
        raise InvalidValueError(f"max_drift_share must be in (0, 1]. Got {max_drift_share}.")
    reference, current = _side(reference, "reference"), _side(current, "current")
    ref_names, cur_names = _names(reference), _names(current)
    wanted = list(columns) if columns is not None else ref_names
    unknown = [c for c in wanted if c not in ref_names]
    if unknown:
        raise InvalidValueError(
            f"Columns {unknown} are not in the reference. Reference columns are: "
            + ", ".join(ref_names)
            + "."
        )
    tests = dict(tests or {})
    floors = dict(effect_floors or {})
    thresholds = dict(thresholds or {})
    candidates = auto_candidates()
    results: list[ColumnDrift] = []
    missing = [c for c in wanted if c not in cur_names]
    for name in wanted:
        if name in missing:
            continue
        kind = _kind_of(reference, name)
        ref_col, cur_col = _column(reference, name, kind), _column(current, name, kind)
        test_name = tests.get(name) or stattest
        if test_name is None:
            n_categories = len(ref_col.counts()) if kind == "categorical" else 0
            test_name = choose_test(kind, ref_col.n, cur_col.n, n_categories, candidates)
        test = get_test(test_name)
        if kind not in test.kinds:
            raise InvalidValueError(
                f"Test {test_name!r} does not apply to {kind} column {name!r}; it works on "
                f"{', '.join(test.kinds)} columns."
            )
        score = test.score(ref_col, cur_col)
        n_ref, n_cur = ref_col.n, cur_col.n
        new = _new_categories(ref_col, cur_col) if kind == "categorical" else []
        del ref_col, cur_col  # a streamed side holds one column at a time
        threshold = thresholds.get(test_name, test.threshold)
        results.append(
            ColumnDrift(
                column=name,
                kind=kind,
                test=test_name,
                statistic=_finite(score.statistic),
                p_value=score.p_value,
                effect_size=_finite(score.effect_size),
                threshold=threshold,
                effect_floor=(
                    floors.get(test_name, getattr(test, "effect_floor", None))
                    if test.uses_p_value
                    else None
                ),
                n_reference=n_ref,
                n_current=n_cur,
                drifted=False,
                is_prediction=name == prediction_column,
                new_categories=new,
            )
        )
    _decide(results, fdr)
    features = [r for r in results if not r.is_prediction]
    prediction = next((r for r in results if r.is_prediction), None)
    share = sum(r.drifted for r in features) / len(features) if features else 0.0
    return DriftReport(
        columns=features,
        max_drift_share=max_drift_share,
        share_drifted=share,
        dataset_drift=bool(features) and share >= max_drift_share,
        prediction=prediction,
        missing_columns=missing,
    )


def _new_categories(ref: ColumnData, cur: ColumnData) -> list[str]:
    """Current categories the reference never had, in >= NEW_CATEGORY_SHARE of the rows.

    Not when the reference's profile lumped its rarer values into ``__other__`` (any value
    might be among them).
    """
    rc = ref.counts()
    if OTHER in rc or not cur.n:
        return []
    return sorted(
        k
        for k, v in cur.counts().items()
        if k != OTHER and v > 0 and rc.get(k, 0) == 0 and v / cur.n >= NEW_CATEGORY_SHARE
    )


def benjamini_hochberg(ps: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``'s
    ``"bh"``, without importing scipy.stats for it).

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    ps = np.clip(np.asarray(ps, dtype="float64"), 0, 1)
    m = len(ps)
    order = np.argsort(ps)
    scaled = ps[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else 1e9


def _decide(results: list[ColumnDrift], fdr: bool) -> None:
    with_p = [r for r in results if r.p_value is not None]
    if with_p:
        ps = np.array([r.p_value for r in with_p], dtype="float64")
        adjusted = benjamini_hochberg(ps) if fdr and len(ps) > 1 else ps
        for r, p_adj in zip(with_p, adjusted, strict=True):
            r.p_adjusted = float(p_adj)
    for r in results:
        if r.p_value is not None:
            floor = r.effect_floor or 0.0
            r.drifted = bool(r.p_adjusted is not None and r.p_adjusted < r.threshold) and (
                r.effect_size >= floor
            )
        else:
            r.drifted = r.statistic >= r.threshold
        r.drifted = r.drifted or bool(r.new_categories)
