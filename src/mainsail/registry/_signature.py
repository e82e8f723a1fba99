"""Model signatures: what a model takes and returns, checked on every predict.

Input checks are vectorised per column. A missing column or a value of the wrong type
is a :class:`SignatureMismatchError` naming the column, the row and what was expected;
extra columns are dropped or rejected by policy; columns come back in training order
with training dtypes (categories restored), so the model sees what it was fitted on.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from mainsail.core._errors import SignatureMismatchError
from mainsail.data._schema import ColumnSchema, Schema, infer_schema

ExtraPolicy = Literal["drop", "reject"]


class ModelSignature(BaseModel):
    inputs: Schema
    outputs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        return cls.model_validate(data)

    @property
    def input_names(self) -> list[str]:
        return self.inputs.names


def infer_signature(
    X: pd.DataFrame, predictions: np.ndarray | None, task: str, classes: list[Any] | None
) -> ModelSignature:
    outputs: dict[str, Any] = {"task": task}
    if predictions is not None:
        outputs["dtype"] = str(np.asarray(predictions).dtype)
        outputs["shape"] = list(np.asarray(predictions).shape[1:])
    if classes is not None:
        outputs["classes"] = classes
    return ModelSignature(inputs=infer_schema(X, max_categories=1000), outputs=outputs)


def _rows(mask: np.ndarray, k: int = 3) -> str:
    idx = np.flatnonzero(mask)[:k]
    return ", ".join(str(int(i)) for i in idx)


def _bad_values(s: pd.Series, mask: np.ndarray, k: int = 3) -> str:
    idx = np.flatnonzero(mask)[:k]
    return ", ".join(f"{s.iloc[i]!r} in row {int(i)}" for i in idx)


def _as_frame(data: Any, names: list[str]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T if data.index.isin(names).all() else data.to_frame()
    if isinstance(data, dict):
        return pd.DataFrame(data)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pd.DataFrame.from_records(data)
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise SignatureMismatchError(
            f"Expected a table with {len(names)} columns ({', '.join(names)}). "
            f"Got an array of shape {arr.shape}. Pass a DataFrame with named columns."
        )
    return pd.DataFrame(arr, columns=names)


def _check_column(col: ColumnSchema, s: pd.Series) -> pd.Series:
    name = col.name
    na = s.isna().to_numpy()
    if col.is_numeric:
        if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            coerced = pd.to_numeric(s, errors="coerce")
            bad = coerced.isna().to_numpy() & ~na
            if bad.any() or pd.api.types.is_bool_dtype(s.dtype):
                what = _bad_values(s, bad) if bad.any() else "booleans"
                raise SignatureMismatchError(
                    f"Input {name!r} must be a number ({col.dtype}). Got {what}."
                )
            s = coerced
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        nonfinite = ~np.isfinite(values) & ~na
        if nonfinite.any():
            raise SignatureMismatchError(
                f"Input {name!r} must be a finite number. Got {_bad_values(s, nonfinite)}."
            )
        if col.dtype == "int" and not na.any() and np.all(values == np.round(values)):
            return pd.Series(values.astype("int64"), index=s.index, name=name)
        return pd.Series(values, index=s.index, name=name)
    if col.dtype == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s
        mapped = s.map({True: True, False: False, "true": True, "false": False})
        bad = mapped.isna().to_numpy() & ~na
        if bad.any():
            raise SignatureMismatchError(
                f"Input {name!r} must be a boolean (true/false). Got {_bad_values(s, bad)}."
            )
        return mapped.astype("boolean" if na.any() else bool)
    if col.dtype == "datetime":
        try:
            return pd.to_datetime(s)
        except (ValueError, TypeError):
            raise SignatureMismatchError(
                f"Input {name!r} must be a date-time. Got values like {s.iloc[0]!r}."
            ) from None
    # string / category
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        raise SignatureMismatchError(
            f"Input {name!r} must be a string"
            + (f" (one of {', '.join(col.categories[:10])})" if col.categories else "")
            + f". Got numbers, e.g. {s.iloc[0]!r} in row 0."
        )
    if not (pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype)):
        raise SignatureMismatchError(f"Input {name!r} must be a string. Got dtype {s.dtype}.")
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty", "categorical"):
        raise SignatureMismatchError(
            f"Input {name!r} must hold strings. Got mixed values, e.g. {s.iloc[0]!r} in row 0."
        )
    if col.dtype == "category":
        return pd.Series(pd.Categorical(s, categories=col.categories), index=s.index, name=name)
    return s


def prepare_input(
    data: Any, signature: ModelSignature, extra: ExtraPolicy = "drop"
) -> pd.DataFrame:
    """Validate ``data`` against ``signature`` and return it in training order and dtypes."""
    names = signature.input_names
    df = _as_frame(data, names)
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise SignatureMismatchError(
            f"Missing input column(s): {', '.join(missing)}. Expected columns: {', '.join(names)}. "
            f"Got: {', '.join(map(str, df.columns))}."
        )
    extras = [c for c in df.columns if c not in names]
    if extras and extra == "reject":
        raise SignatureMismatchError(
            f"Unexpected input column(s): {', '.join(map(str, extras))}. The model takes exactly: "
            f"{', '.join(names)}. Drop them, or load the model with extra_columns='drop'."
        )
    out: dict[str, pd.Series] = {}
    for col in signature.inputs.columns:
        s = df[col.name]
        if not col.nullable:
            na = s.isna().to_numpy()
            if na.any():
                raise SignatureMismatchError(
                    f"Input {col.name!r} has missing values in row(s) {_rows(na)}; the model was "
                    f"trained without missing values there. Expected a {col.dtype} in every row."
                )
        out[col.name] = _check_column(col, s).reset_index(drop=True)
    return pd.DataFrame(out)
