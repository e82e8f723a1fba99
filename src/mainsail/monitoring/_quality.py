"""Data quality of live traffic against the model's signature and reference profile.

Five checks, each with counts and example values:

- ``schema``: a signature column is missing from the traffic, or a column appeared that
  the signature does not have (a missing and a new column together read as a rename —
  the classic "upstream changed a column" incident);
- ``type``: values in a numeric column that are not numbers;
- ``missing``: the missing rate jumped above the reference's (by ``missing_jump``);
- ``range``: numbers outside the reference's observed range (widened by ``range_slack``
  of the range on each side);
- ``unseen``: categories the reference never saw.

It works on raw frames (exact counts and examples) and on a merged live profile (counts
read from the sketch; no examples).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mainsail.data._profile import ColumnProfile, Profile
from mainsail.data._schema import Schema

Check = Literal["schema", "type", "missing", "range", "unseen"]
_EXAMPLES = 5


class QualityIssue(BaseModel):
    check: Check
    column: str
    count: int
    rate: float
    reference_rate: float | None = None
    examples: list[Any] = Field(default_factory=list)
    message: str


class QualityReport(BaseModel):
    """Issues found, plus the per-column missing rates (live and reference)."""

    rows: int
    issues: list[QualityIssue]
    missing_rates: dict[str, float]
    reference_missing_rates: dict[str, float] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues

    def by_check(self, check: str) -> list[QualityIssue]:
        return [i for i in self.issues if i.check == check]

    def scores(self) -> dict[str, float]:
        out: dict[str, float] = {
            "quality.issues": float(len(self.issues)),
            "quality.rows": float(self.rows),
        }
        for col, rate in self.missing_rates.items():
            out[f"quality.missing_rate.{col}"] = rate
        for check in ("schema", "type", "range", "unseen", "missing"):
            out[f"quality.{check}_issues"] = float(len(self.by_check(check)))
        for i in self.issues:
            if i.check in ("type", "range", "unseen"):
                out[f"quality.{i.check}_rate.{i.column}"] = i.rate
        return out

    def summary(self) -> str:
        if not self.issues:
            return f"Data quality: ok ({self.rows} rows)"
        return "\n".join(
            [f"Data quality: {len(self.issues)} issue(s) in {self.rows} rows"]
            + [f"  - [{i.check}] {i.message}" for i in self.issues]
        )


def _examples(values: pd.Series) -> list[Any]:
    out = []
    for v in values.head(_EXAMPLES).tolist():
        out.append(v.item() if isinstance(v, np.generic) else v)
    return out


def check_quality(
    current: pd.DataFrame | Profile,
    signature: Schema | None = None,
    reference: Profile | None = None,
    missing_jump: float = 0.05,
    range_slack: float = 0.05,
    min_rate: float = 0.001,
) -> QualityReport:
    """Check live inputs (a frame of model inputs, or their merged profile).

    Parameters
    ----------
    current : DataFrame or Profile
        Model inputs over the window (prediction-log ``input.*`` columns renamed), or the
        live profile merged from sketches.
    signature : the model's input schema (column names, kinds, categories).
    reference : the model version's reference profile.
    missing_jump : flag a column whose missing rate exceeds the reference's by this much.
    range_slack : widen the reference's [min, max] by this share of its span on each side.
    min_rate : out-of-range and unseen values below this share of rows are not issues.

    Examples
    --------
    >>> ref = pd.DataFrame({"age": [20.0, 30, 40, 50], "plan": ["a", "b", "a", "b"]})
    >>> from mainsail.data import profile_frame
    >>> cur = pd.DataFrame({"age": [25.0, None, 300, 35], "plan": ["a", "c", "a", "b"]})
    >>> [i.check for i in check_quality(cur, reference=profile_frame(ref)).issues]
    ['missing', 'range', 'unseen']
    """
    names = [str(c) for c in current.columns]
    rows = len(current) if isinstance(current, pd.DataFrame) else current.row_count
    expected = (
        signature.names
        if signature is not None
        else (list(reference.columns) if reference is not None else names)
    )
    issues: list[QualityIssue] = []
    missing_cols = [c for c in expected if c not in names]
    extra_cols = [c for c in names if c not in expected and c != "prediction"]
    for c in missing_cols:
        hint = (
            f" New column(s) {extra_cols} appeared at the same time: was it renamed?"
            if extra_cols
            else ""
        )
        issues.append(
            QualityIssue(
                check="schema",
                column=c,
                count=rows,
                rate=1.0,
                message=f"Column {c!r} is expected by the signature but missing from live "
                f"traffic ({rows} rows).{hint}",
            )
        )
    for c in extra_cols:
        ex = _examples(current[c].dropna()) if isinstance(current, pd.DataFrame) else []
        issues.append(
            QualityIssue(
                check="schema",
                column=c,
                count=rows,
                rate=1.0,
                examples=ex,
                message=f"Column {c!r} is in live traffic but not in the signature "
                f"(expected columns: {', '.join(expected)}).",
            )
        )
    missing_rates: dict[str, float] = {}
    ref_rates: dict[str, float] = {}
    for c in expected:
        if c not in names:
            missing_rates[c] = 1.0
            continue
        ref_col = reference.columns.get(c) if reference is not None else None
        sig_col = signature[c] if signature is not None and c in signature else None
        numeric = (sig_col.is_numeric if sig_col is not None else False) or (
            ref_col is not None and ref_col.is_numeric
        )
        if isinstance(current, pd.DataFrame):
            found = _raw_column(c, current[c], numeric, ref_col, range_slack, min_rate)
        else:
            found = _sketch_column(c, current.columns[c], numeric, ref_col, range_slack, min_rate)
        rate, col_issues = found
        missing_rates[c] = rate
        if ref_col is not None:
            ref_rates[c] = ref_col.missing_rate
        base = ref_rates.get(c, 0.0)
        if rate - base > missing_jump:
            count = int(round(rate * rows))
            issues.append(
                QualityIssue(
                    check="missing",
                    column=c,
                    count=count,
                    rate=rate,
                    reference_rate=base,
                    message=f"Missing rate of {c!r} jumped to {rate:.1%} ({count} of {rows} rows) "
                    f"from {base:.1%} in the reference.",
                )
            )
        issues.extend(col_issues)
    order = {"schema": 0, "type": 1, "missing": 2, "range": 3, "unseen": 4}
    issues.sort(
        key=lambda i: (order[i.check], expected.index(i.column) if i.column in expected else 1e9)
    )
    return QualityReport(
        rows=rows, issues=issues, missing_rates=missing_rates, reference_missing_rates=ref_rates
    )


def _bounds(ref: ColumnProfile, slack: float) -> tuple[float, float] | None:
    if ref.min is None or ref.max is None:
        return None
    span = float(ref.max) - float(ref.min)
    pad = slack * span if span > 0 else slack * max(abs(float(ref.min)), 1.0)
    return float(ref.min) - pad, float(ref.max) + pad


def _raw_column(
    name: str,
    s: pd.Series,
    numeric: bool,
    ref: ColumnProfile | None,
    slack: float,
    min_rate: float,
) -> tuple[float, list[QualityIssue]]:
    n = len(s)
    issues: list[QualityIssue] = []
    isna = s.isna().to_numpy()
    if numeric and not (
        pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    ):
        coerced = pd.to_numeric(s, errors="coerce")
        bad = coerced.isna().to_numpy() & ~isna
        if bad.any():
            k = int(bad.sum())
            issues.append(
                QualityIssue(
                    check="type",
                    column=name,
                    count=k,
                    rate=k / max(n, 1),
                    examples=_examples(s[bad]),
                    message=f"{k} value(s) of numeric column {name!r} are not numbers, e.g. "
                    f"{_examples(s[bad])[:3]}.",
                )
            )
        values = coerced.to_numpy(dtype="float64", na_value=np.nan)
        isna = isna | bad
    elif numeric:
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = None
    rate = float(isna.mean()) if n else 0.0
    if ref is None:
        return rate, issues
    if numeric and values is not None and ref.is_numeric:
        b = _bounds(ref, slack)
        if b is not None:
            out = (values < b[0]) | (values > b[1])
            k = int(out.sum())
            if k and k / max(n, 1) >= min_rate:
                issues.append(
                    QualityIssue(
                        check="range",
                        column=name,
                        count=k,
                        rate=k / n,
                        examples=_examples(pd.Series(values[out])),
                        message=f"{k} value(s) of {name!r} ({k / n:.1%}) are outside the "
                        f"reference range [{ref.min:.4g}, {ref.max:.4g}], e.g. "
                        f"{_examples(pd.Series(values[out]))[:3]}.",
                    )
                )
    elif not numeric and ref.values:
        known = set(ref.values)
        strs = s[~isna].astype(str)
        unseen = ~strs.isin(known)
        k = int(unseen.sum())
        if k and k / max(n, 1) >= min_rate:
            top = strs[unseen].value_counts().head(_EXAMPLES)
            issues.append(
                QualityIssue(
                    check="unseen",
                    column=name,
                    count=k,
                    rate=k / n,
                    examples=list(top.index),
                    message=f"{k} value(s) of {name!r} ({k / n:.1%}) are categories the "
                    f"reference never saw: {dict(top.items())}. Known: "
                    f"{', '.join(sorted(known)[:10])}.",
                )
            )
    return rate, issues


def _sketch_column(
    name: str,
    cur: ColumnProfile,
    numeric: bool,
    ref: ColumnProfile | None,
    slack: float,
    min_rate: float,
) -> tuple[float, list[QualityIssue]]:
    issues: list[QualityIssue] = []
    rate = cur.missing_rate
    n = cur.total
    if ref is None or not n:
        return rate, issues
    if numeric and not cur.is_numeric and cur.values:
        issues.append(
            QualityIssue(
                check="type",
                column=name,
                count=cur.count,
                rate=cur.count / n,
                examples=list(cur.values)[:_EXAMPLES],
                message=f"Numeric column {name!r} arrived as {cur.dtype} values, e.g. "
                f"{list(cur.values)[:3]}.",
            )
        )
    elif numeric and cur.is_numeric and ref.is_numeric:
        b = _bounds(ref, slack)
        if b is not None and cur.count:
            sk = cur.sketch()
            below, above = (float(v) for v in np.asarray(sk.get_cdf([b[0], b[1]]))[:2])
            share = below + (1 - above)
            k = int(round(share * cur.count))
            if k and k / n >= min_rate:
                issues.append(
                    QualityIssue(
                        check="range",
                        column=name,
                        count=k,
                        rate=k / n,
                        examples=[
                            v for v in (cur.min, cur.max) if v is not None and not b[0] <= v <= b[1]
                        ],
                        message=f"About {k} value(s) of {name!r} ({k / n:.1%}) are outside the "
                        f"reference range [{ref.min:.4g}, {ref.max:.4g}] (live range "
                        f"[{cur.min}, {cur.max}]).",
                    )
                )
    elif not numeric and ref.values and cur.values:
        unseen = {k: v for k, v in cur.values.items() if k not in ref.values}
        k = sum(unseen.values())
        if k and k / n >= min_rate:
            top = dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:_EXAMPLES])
            issues.append(
                QualityIssue(
                    check="unseen",
                    column=name,
                    count=k,
                    rate=k / n,
                    examples=list(top),
                    message=f"{k} value(s) of {name!r} ({k / n:.1%}) are categories the "
                    f"reference never saw: {top}.",
                )
            )
    return rate, issues
