"""Schema inference: each column's dtype, nullability, categories and range."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from mainsail.core._errors import UnsupportedColumnTypeError

DType = Literal["int", "float", "bool", "string", "category", "datetime"]
SUPPORTED = ("int", "float", "bool", "string", "category", "datetime")


class ColumnSchema(BaseModel):
    """One column: its kind, whether it may be missing, and what values it took."""

    model_config = ConfigDict(frozen=True)

    name: str
    dtype: DType
    nullable: bool
    categories: list[str] | None = None
    min: float | None = None
    max: float | None = None
    numpy_dtype: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.dtype in ("int", "float")


class Schema(BaseModel):
    """Ordered column schemas of a table.

    Examples
    --------
    >>> s = infer_schema(pd.DataFrame({"age": [30, 41], "plan": ["a", "b"]}))
    >>> [(c.name, c.dtype) for c in s.columns]
    [('age', 'int'), ('plan', 'string')]
    """

    model_config = ConfigDict(frozen=True)

    columns: list[ColumnSchema]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls.model_validate(data)


def _kind(name: str, s: pd.Series) -> DType:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    if pd.api.types.is_string_dtype(dt) or dt is np.dtype(object):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in ("string", "empty"):
            return "string"
        if inferred == "boolean":
            return "bool"
        found = f"object values of kind '{inferred}'"
    else:
        found = f"dtype '{dt}'"
    raise UnsupportedColumnTypeError(
        f"Column {name!r} has {found}. Supported column types are: "
        f"{', '.join(SUPPORTED)}. Convert the column (e.g. df[{name!r}].astype(str), or "
        "flatten nested values into columns) or drop it."
    )


def infer_schema(df: pd.DataFrame, max_categories: int = 50) -> Schema:
    """Infer a :class:`Schema` from a DataFrame.

    Strings with at most ``max_categories`` distinct values record their categories;
    numeric columns record their min and max.
    """
    if not isinstance(df, pd.DataFrame):
        raise UnsupportedColumnTypeError(f"Expected a pandas DataFrame. Got {type(df).__name__}.")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise UnsupportedColumnTypeError(
            f"Column names must be strings. Found {bad[:5]!r}. "
            "Rename them, e.g. df.columns = [str(c) for c in df.columns]."
        )
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise UnsupportedColumnTypeError(f"Column names must be unique. Duplicated: {dup}.")
    cols = []
    for name in df.columns:
        s = df[name]
        kind = _kind(name, s)
        nullable = bool(s.isna().any())
        cats: list[str] | None = None
        lo = hi = None
        if kind in ("int", "float"):
            values = s.to_numpy(dtype="float64", na_value=np.nan)
            finite = values[np.isfinite(values)]
            if finite.size:
                lo, hi = float(finite.min()), float(finite.max())
        elif kind == "datetime":
            valid = s.dropna()
            if len(valid):
                lo = float(valid.min().value) / 1e9
                hi = float(valid.max().value) / 1e9
        elif kind == "category":
            cats = sorted(str(c) for c in s.cat.categories)
        elif kind == "string":
            uniq = s.dropna().unique()
            if len(uniq) <= max_categories:
                cats = sorted(str(u) for u in uniq)
        cols.append(
            ColumnSchema(
                name=name,
                dtype=kind,
                nullable=nullable,
                categories=cats,
                min=lo,
                max=hi,
                numpy_dtype=str(s.dtype),
            )
        )
    return Schema(columns=cols)


def column_kind(name: str, s: pd.Series) -> DType:
    """The schema kind of one column (raises for unsupported types)."""
    return _kind(name, s)
