"""Mergeable dataset profiles: counts, missing, KLL quantile sketches, histograms, top values.

A profile summarises a table without keeping its rows, and two profiles of disjoint
parts merge into the profile of the whole: counts and histograms add exactly, quantile
sketches (Apache DataSketches KLL) merge within their rank error. Histograms use fixed
bin edges: a profile made ``reference=`` another reuses its edges, so live windows and
the training data are binned alike.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mainsail.data._datetimes import series_ns
from mainsail.data._schema import Schema, column_kind

KLL_K = 200
MAX_EXACT_VALUES = 1000
OTHER = "__other__"


class ColumnProfile(BaseModel):
    """Summary of one column. Numeric columns carry a sketch and a histogram; others, counts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    dtype: str
    count: int = 0
    missing: int = 0
    # numeric
    sum: float = 0.0
    sumsq: float = 0.0
    min: float | None = None
    max: float | None = None
    edges: list[float] | None = None
    hist: list[int] | None = None
    kll: str | None = None  # base64 of the serialised KLL sketch
    # categorical / bool / string
    values: dict[str, int] | None = None

    @property
    def is_numeric(self) -> bool:
        return self.kll is not None or self.edges is not None

    @property
    def total(self) -> int:
        return self.count + self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.total if self.total else 0.0

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    @property
    def std(self) -> float | None:
        if self.count < 2:
            return None
        var = (self.sumsq - self.sum**2 / self.count) / (self.count - 1)
        return float(np.sqrt(max(var, 0.0)))

    def sketch(self) -> Any:
        import datasketches as ds

        if self.kll is None:
            return ds.kll_doubles_sketch(KLL_K)
        return ds.kll_doubles_sketch.deserialize(base64.b64decode(self.kll))

    def quantile(self, q: float) -> float | None:
        sk = self.sketch()
        return None if sk.is_empty() else float(sk.get_quantile(q))

    def frequencies(self) -> dict[str, float]:
        """Share of each value among non-missing values."""
        if not self.values or not self.count:
            return {}
        return {k: v / self.count for k, v in self.values.items()}

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if self.dtype != other.dtype and not (self.is_numeric and other.is_numeric):
            raise ValueError(f"Cannot merge a {self.dtype} column with a {other.dtype} one.")
        out = self.model_copy(deep=True)
        out.count += other.count
        out.missing += other.missing
        if self.is_numeric or other.is_numeric:
            out.sum += other.sum
            out.sumsq += other.sumsq
            out.min = _opt(min, self.min, other.min)
            out.max = _opt(max, self.max, other.max)
            if self.edges != other.edges:
                raise ValueError(
                    "Cannot merge histograms with different bin edges; profile the later "
                    "data with reference= the earlier profile."
                )
            if self.hist is not None and other.hist is not None:
                out.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]
            sk = self.sketch()
            sk.merge(other.sketch())
            out.kll = base64.b64encode(sk.serialize()).decode()
        else:
            merged = dict(self.values or {})
            for k, v in (other.values or {}).items():
                merged[k] = merged.get(k, 0) + v
            out.values = _cap(merged)
        return out


class Profile(BaseModel):
    """Profile of a table: row count and one :class:`ColumnProfile` per column.

    Examples
    --------
    >>> p = profile_frame(pd.DataFrame({"x": [1.0, 2.0, None]}))
    >>> p.row_count, p.missing_rate("x")
    (3, 0.3333333333333333)
    """

    row_count: int = 0
    columns: dict[str, ColumnProfile] = Field(default_factory=dict)

    def merge(self, other: Profile) -> Profile:
        cols = dict(self.columns)
        for name, prof in other.columns.items():
            cols[name] = cols[name].merge(prof) if name in cols else prof
        return Profile(row_count=self.row_count + other.row_count, columns=cols)

    def missing_rate(self, column: str) -> float:
        return self.columns[column].missing_rate

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls.model_validate(data)


def _opt(fn: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return float(fn(a, b))


def _cap(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= MAX_EXACT_VALUES:
        return counts
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    kept = dict(items[: MAX_EXACT_VALUES - 1])
    kept[OTHER] = kept.get(OTHER, 0) + sum(v for _, v in items[MAX_EXACT_VALUES - 1 :])
    return kept


def _edges_from(sketch: Any, bins: int) -> list[float]:
    """Quantile bin edges, read off the sketch (no sort of the data needed)."""
    if sketch.is_empty():
        return [0.0, 1.0]
    qs = np.asarray(sketch.get_quantiles(list(np.linspace(0, 1, bins + 1))), dtype="float64")
    qs[0], qs[-1] = sketch.get_min_value(), sketch.get_max_value()
    edges = np.unique(qs)
    if edges.size < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return [float(e) for e in edges]


def profile_column(
    s: pd.Series, kind: str, bins: int = 20, edges: list[float] | None = None
) -> ColumnProfile:
    """Profile one column; ``edges`` fixes the histogram bins (else quantiles of the data)."""
    missing = int(s.isna().sum())
    n = len(s) - missing
    if kind in ("int", "float", "datetime"):
        if kind == "datetime":
            # Seconds since the epoch, whatever unit or time zone the column has.
            ticks = (
                series_ns(s)
                if pd.api.types.is_datetime64_any_dtype(s.dtype)
                else s.dropna().astype("int64").to_numpy(dtype="float64")  # ns as numbers
            )
            values = ticks / 1e9
        else:
            values = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        import datasketches as ds

        sk = ds.kll_doubles_sketch(KLL_K)
        if finite.size:
            sk.update(finite)
        edges = edges if edges is not None else _edges_from(sk, bins)
        # Interior edges only: values beyond the outer edges land in the first/last bin.
        idx = np.searchsorted(np.asarray(edges[1:-1]), finite, side="right")
        hist = np.bincount(idx, minlength=len(edges) - 1)
        return ColumnProfile(
            dtype=kind,
            count=n,
            missing=missing,
            sum=float(finite.sum()),
            sumsq=float(np.square(finite).sum()),
            min=float(finite.min()) if finite.size else None,
            max=float(finite.max()) if finite.size else None,
            edges=edges,
            hist=[int(x) for x in hist],
            kll=base64.b64encode(sk.serialize()).decode(),
        )
    counts = s.value_counts(dropna=True, sort=False)
    return ColumnProfile(
        dtype=kind,
        count=n,
        missing=missing,
        values=_cap({str(k): int(v) for k, v in counts.items()}),
    )


def profile_frame(
    df: pd.DataFrame,
    schema: Schema | None = None,
    reference: Profile | None = None,
    bins: int = 20,
) -> Profile:
    """Profile every column of ``df``; with ``reference``, reuse its histogram edges."""
    kinds = {c.name: c.dtype for c in schema.columns} if schema is not None else {}
    cols: dict[str, ColumnProfile] = {}
    for name in df.columns:
        s = df[name]
        kind = kinds.get(name) or column_kind(str(name), s)
        ref = reference.columns.get(name) if reference is not None else None
        edges = ref.edges if ref is not None and ref.edges is not None else None
        numeric_now = pd.api.types.is_numeric_dtype(
            s.dtype
        ) or pd.api.types.is_datetime64_any_dtype(s.dtype)
        if kind in ("int", "float", "datetime") and not numeric_now:
            kind = column_kind(str(name), s)  # live data changed type: profile what it is
        cols[str(name)] = profile_column(s, kind, bins=bins, edges=edges)
    return Profile(row_count=len(df), columns=cols)
