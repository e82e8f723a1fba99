"""Tables as the model-agnostic methods need them: bounded samples and numeric matrices.

Sampling explainers (permutation, Kernel SHAP, LIME) mix values of the explained row with
values of background rows, so they work on numeric matrices. A :class:`Codec` turns a
DataFrame into one (categories, strings and booleans become integer codes) and turns any
matrix of such values back into a DataFrame with the model's dtypes, for the model to score.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame``, the same ones for the same seed, in order.

    Examples
    --------
    >>> df = pd.DataFrame({"a": range(10)})
    >>> sample_rows(df, 3, seed=0)["a"].tolist() == sample_rows(df, 3, seed=0)["a"].tolist()
    True
    """
    if not isinstance(max_rows, int | np.integer) or max_rows < 1:
        raise InvalidValueError(f"Expected max_rows to be a positive integer. Got {max_rows!r}.")
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), int(max_rows), replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


class Codec:
    """Numeric matrix <-> DataFrame for the columns of ``frames`` (same columns each).

    Non-numeric columns are coded by the sorted set of values seen in any of the frames;
    :meth:`decode` maps codes back, rounding the fractional codes a sampler may draw.
    """

    def __init__(self, *frames: pd.DataFrame) -> None:
        first = frames[0]
        self.columns = list(first.columns)
        self.dtypes = {c: first[c].dtype for c in self.columns}
        self.categories: dict[Any, np.ndarray] = {}
        for c in self.columns:
            if not _is_numeric(first[c]):
                seen = pd.concat([f[c] for f in frames], ignore_index=True).dropna()
                self.categories[c] = np.asarray(pd.unique(seen.astype(object)), dtype=object)
                self.categories[c] = np.asarray(
                    sorted(self.categories[c], key=lambda v: (str(type(v)), str(v))), dtype=object
                )

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype="float64")
        for j, c in enumerate(self.columns):
            s = frame[c]
            if c in self.categories:
                lookup = {v: i for i, v in enumerate(self.categories[c])}
                out[:, j] = [np.nan if pd.isna(v) else lookup[v] for v in s.astype(object)]
            else:
                out[:, j] = s.to_numpy(dtype="float64", na_value=np.nan)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        m = np.asarray(matrix, dtype="float64").reshape(-1, len(self.columns))
        cols: dict[Any, Any] = {}
        for j, c in enumerate(self.columns):
            v = m[:, j]
            dtype = self.dtypes[c]
            if c in self.categories:
                cats = self.categories[c]
                na = np.isnan(v)
                codes = np.clip(np.rint(np.where(na, 0, v)), 0, len(cats) - 1).astype(int)
                values = (cats[codes] if len(cats) else np.full(len(v), None)).astype(object)
                values[na] = None
                cols[c] = pd.Series(values, dtype=object).astype(dtype)
            elif pd.api.types.is_integer_dtype(dtype) and not np.isnan(v).any():
                cols[c] = np.rint(v).astype(dtype)
            else:
                cols[c] = v
        return pd.DataFrame(cols, columns=self.columns)


def frame_to_split(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON-safe ``{"columns": [...], "data": [[...], ...]}`` (missing: null)."""
    out: dict[str, Any] = json.loads(
        frame.to_json(orient="split", index=False, date_format="iso", double_precision=15)
    )
    return {"columns": out["columns"], "data": out["data"]}


def split_to_frame(obj: Any, what: str) -> pd.DataFrame:
    """The DataFrame of a ``{"columns": [...], "data": [[...], ...]}`` object."""
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("columns"), list)
        or not isinstance(obj.get("data"), list)
    ):
        raise InvalidValueError(
            f"Expected {what} as an object with 'columns' (a list of names) and 'data' (a list "
            f"of rows). Got {type(obj).__name__}"
            + (f" with keys {', '.join(map(str, obj))}." if isinstance(obj, dict) else ".")
        )
    columns, rows = obj["columns"], obj["data"]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidValueError(
                f"Expected each row of {what} to be a list of {len(columns)} values (one per "
                f"column: {', '.join(map(str, columns))}). Row {i} is {str(row)[:80]}."
            )
    return pd.DataFrame(rows, columns=[str(c) for c in columns])


__all__ = ["Codec", "frame_to_split", "sample_rows", "split_to_frame"]
