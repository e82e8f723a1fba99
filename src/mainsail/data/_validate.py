"""Validate a frame against a schema and report every violation (Pandera's lazy mode)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mainsail.core._errors import DataValidationError, UnsupportedColumnTypeError
from mainsail.data._schema import Schema, column_kind

Kind = Literal[
    "missing_column",
    "extra_column",
    "type_changed",
    "null_in_non_nullable",
    "out_of_range",
    "unseen_category",
]


class Violation(BaseModel):
    kind: Kind
    column: str
    count: int
    expected: str
    found: str
    examples: list[dict[str, Any]] = Field(default_factory=list)

    def describe(self) -> str:
        ex = ""
        if self.examples:
            e = self.examples[0]
            ex = f" e.g. row {e['row']}: {e['value']!r}"
        return f"{self.column}: {self.kind} in {self.count} row(s); expected {self.expected}, found {self.found}.{ex}"


class ValidationReport(BaseModel):
    """Every violation found, with counts and example rows."""

    row_count: int
    violations: list[Violation] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_kind(self, kind: str) -> list[Violation]:
        return [v for v in self.violations if v.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.model_dump()}

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.row_count} rows, no violations."
        lines = [f"{len(self.violations)} violation(s) in {self.row_count} rows:"]
        lines += [f"  - {v.describe()}" for v in self.violations]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _examples(s: pd.Series, mask: np.ndarray, k: int) -> list[dict[str, Any]]:
    idx = np.flatnonzero(mask)[:k]
    return [{"row": _json_safe(s.index[i]), "value": _json_safe(s.iloc[i])} for i in idx]


def _renames(df: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """Missing schema column -> the new column that most likely replaced it.

    A column missing while a new one appeared reads as a rename (the monitor says the same
    of live traffic). Pair by name similarity; one missing and one new pair on their own.
    """
    import difflib

    missing = [c.name for c in schema.columns if c.name not in df.columns]
    extra = [str(n) for n in df.columns if n not in schema]
    if not missing or not extra:
        return {}
    if len(missing) == 1 and len(extra) == 1:
        return {missing[0]: extra[0]}
    pairs: dict[str, str] = {}
    for name in missing:
        close = difflib.get_close_matches(name, [e for e in extra if e not in pairs.values()], n=1)
        if close:
            pairs[name] = close[0]
    return pairs


def validate(
    df: pd.DataFrame,
    schema: Schema,
    strict: bool = False,
    max_examples: int = 5,
    allow_extra: bool = True,
) -> ValidationReport:
    """Check ``df`` against ``schema``; every violation, each with a count and examples.

    With ``strict=True`` a failing report raises :class:`DataValidationError`.

    Examples
    --------
    >>> from mainsail.data._schema import infer_schema
    >>> s = infer_schema(pd.DataFrame({"age": [30, 40]}))
    >>> validate(pd.DataFrame({"age": [35, 99]}), s).violations[0].kind
    'out_of_range'
    """
    out: list[Violation] = []
    renames = _renames(df, schema)
    for col in schema.columns:
        if col.name not in df.columns:
            was = renames.get(col.name)
            out.append(
                Violation(
                    kind="missing_column",
                    column=col.name,
                    count=len(df),
                    expected=f"a {col.dtype} column {col.name!r}",
                    found="no such column"
                    + (
                        f"; a new column {was!r} appeared at the same time: was it renamed? "
                        f"Rename it back (df.rename(columns={{{was!r}: {col.name!r}}})) or log "
                        "a new dataset version if the change is intended"
                        if was
                        else ""
                    ),
                )
            )
            continue
        s = df[col.name]
        na = s.isna().to_numpy()
        if not col.nullable and na.any():
            out.append(
                Violation(
                    kind="null_in_non_nullable",
                    column=col.name,
                    count=int(na.sum()),
                    expected="no missing values",
                    found="missing values",
                    examples=_examples(s, na, max_examples),
                )
            )
        try:
            kind = column_kind(col.name, s)
        except UnsupportedColumnTypeError:
            kind = "unsupported"  # type: ignore[assignment]
        if col.is_numeric:
            if kind in ("int", "float"):
                values = s.to_numpy(dtype="float64", na_value=np.nan)
                bad = np.zeros(len(s), dtype=bool)
                if col.min is not None:
                    bad |= values < col.min
                if col.max is not None:
                    bad |= values > col.max
                if bad.any():
                    out.append(
                        Violation(
                            kind="out_of_range",
                            column=col.name,
                            count=int(bad.sum()),
                            expected=f"values in [{col.min:.6g}, {col.max:.6g}]",
                            found=f"values from {np.nanmin(values):.6g} to {np.nanmax(values):.6g}",
                            examples=_examples(s, bad, max_examples),
                        )
                    )
                continue
            numeric = pd.to_numeric(s, errors="coerce")
            bad = (numeric.isna() & ~s.isna()).to_numpy()
            out.append(
                Violation(
                    kind="type_changed",
                    column=col.name,
                    count=int(bad.sum()) if bad.any() else int((~na).sum()),
                    expected=f"{col.dtype} values",
                    found=f"{kind} values (dtype {s.dtype})",
                    examples=_examples(s, bad if bad.any() else ~na, max_examples),
                )
            )
            continue
        if col.dtype in ("string", "category") and kind not in ("string", "category"):
            out.append(
                Violation(
                    kind="type_changed",
                    column=col.name,
                    count=int((~na).sum()),
                    expected=f"{col.dtype} values",
                    found=f"{kind} values (dtype {s.dtype})",
                    examples=_examples(s, ~na, max_examples),
                )
            )
            continue
        if col.dtype == "bool" and kind != "bool":
            out.append(
                Violation(
                    kind="type_changed",
                    column=col.name,
                    count=int((~na).sum()),
                    expected="bool values",
                    found=f"{kind} values (dtype {s.dtype})",
                    examples=_examples(s, ~na, max_examples),
                )
            )
            continue
        if col.categories is not None and col.dtype in ("string", "category"):
            known = pd.Index(col.categories)
            unseen = (~s.astype(str).isin(known) & ~s.isna()).to_numpy()
            if unseen.any():
                new_values = sorted({str(v) for v in s[unseen].unique()[:10]})
                out.append(
                    Violation(
                        kind="unseen_category",
                        column=col.name,
                        count=int(unseen.sum()),
                        expected="one of " + ", ".join(col.categories[:20]),
                        found="new values " + ", ".join(new_values),
                        examples=_examples(s, unseen, max_examples),
                    )
                )
    renamed_to = {new: old for old, new in renames.items()}
    for name in df.columns:
        if name in schema or (allow_extra and name not in renamed_to):
            continue
        old = renamed_to.get(name)
        out.append(
            Violation(
                kind="extra_column",
                column=str(name),
                count=len(df),
                expected="only columns " + ", ".join(schema.names),
                found=f"an extra column {name!r}"
                + (f", while {old!r} is missing: was {old!r} renamed to {name!r}?" if old else ""),
            )
        )
    report = ValidationReport(row_count=len(df), violations=out)
    if strict and not report.ok:
        raise DataValidationError(
            "Data failed validation. Expected it to match the schema; found:\n"
            + "\n".join(f"  - {v.describe()}" for v in out)
            + "\nFix the data upstream, or log a new dataset version if the change is intended.",
            report=report,
        )
    return report
