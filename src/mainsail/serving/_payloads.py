"""Request parsing for the Open Inference Protocol (V2) and MLflow's /invocations.

JSON is parsed once (orjson) straight into numpy arrays; a numeric signature is checked
on the whole matrix at once. Bad input raises :class:`PayloadError` (HTTP 400/422) that
names the field, the row and what was expected.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mainsail.core._errors import InvalidValueError, SignatureMismatchError
from mainsail.registry._signature import ModelSignature, prepare_input

V2_DTYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
_NP_TO_V2 = {np.dtype(v).name: k for k, v in V2_DTYPES.items() if k != "BYTES"}


class PayloadError(InvalidValueError):
    headline = "Bad request"
    status = 400


def v2_datatype(arr: np.ndarray) -> str:
    return _NP_TO_V2.get(arr.dtype.name, "BYTES")


@dataclass
class Prepared:
    """A validated batch for one request: model input and its row count."""

    frame: pd.DataFrame
    rows: int


class InputChecker:
    """Validates request frames against a signature; a fast path for all-numeric inputs."""

    def __init__(self, signature: ModelSignature, extra: str = "drop") -> None:
        self.signature = signature
        self.names = signature.input_names
        self.extra = extra
        cols = signature.inputs.columns
        self.numeric = all(c.is_numeric for c in cols)
        self.non_nullable = np.array([not c.nullable for c in cols])
        self.index = {n: i for i, n in enumerate(self.names)}

    def from_matrix(self, matrix: Any, columns: list[str] | None = None) -> Prepared:
        """Rows of values in ``columns`` order (default: signature order)."""
        if columns is not None and columns != self.names:
            return self.from_frame(_frame_from_rows(matrix, columns))
        if self.numeric:
            try:
                arr = np.asarray(matrix, dtype=np.float64)
            except (TypeError, ValueError):
                return self.from_frame(_frame_from_rows(matrix, self.names))
            if arr.ndim == 1 and arr.size == len(self.names):
                arr = arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != len(self.names):
                raise PayloadError(
                    f"Expected rows of {len(self.names)} values ({', '.join(self.names)}). "
                    f"Got data of shape {list(arr.shape)}."
                )
            return self._check_numeric(arr)
        return self.from_frame(_frame_from_rows(matrix, self.names))

    def _check_numeric(self, arr: np.ndarray) -> Prepared:
        finite = np.isfinite(arr)
        if not finite.all():
            nan = np.isnan(arr)
            bad = (~finite & ~nan) | (nan & self.non_nullable[None, :])
            if bad.any():
                r, c = np.argwhere(bad)[0]
                value = arr[r, c]
                what = "a missing value (NaN)" if np.isnan(value) else f"{value}"
                raise SignatureMismatchError(
                    f"Input {self.names[c]!r} must be a finite number in every row. Got {what} "
                    f"in row {r}"
                    + (
                        " (the model was trained without missing values there)."
                        if np.isnan(value)
                        else "."
                    )
                )
        return Prepared(pd.DataFrame(arr, columns=self.names, copy=False), arr.shape[0])

    def from_columns(self, columns: dict[str, Any]) -> Prepared:
        if self.numeric and set(columns) >= set(self.names):
            try:
                arr = np.column_stack(
                    [np.asarray(columns[n], dtype=np.float64).reshape(-1) for n in self.names]
                )
            except (TypeError, ValueError):
                arr = None
            if arr is not None:
                return self._check_numeric(arr)
        try:
            frame = pd.DataFrame({k: np.asarray(v).reshape(-1) for k, v in columns.items()})
        except ValueError as exc:
            raise PayloadError(f"All input columns must have the same length: {exc}.") from None
        return self.from_frame(frame)

    def from_frame(self, frame: pd.DataFrame) -> Prepared:
        out = prepare_input(frame, self.signature, self.extra)  # type: ignore[arg-type]
        return Prepared(out, len(out))


def _frame_from_rows(rows: Any, columns: list[str]) -> pd.DataFrame:
    if not isinstance(rows, list):
        raise PayloadError(f"Expected a list of rows. Got {type(rows).__name__}.")
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise PayloadError(
                f"Row {i} must be a list of {width} values ({', '.join(columns)}). Got {got}."
            )
    return pd.DataFrame.from_records(rows, columns=columns)


def loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"The request body is not valid JSON: {exc}.") from None


# -- MLflow /invocations ---------------------------------------------------------------------
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocations(body: bytes, content_type: str, checker: InputChecker) -> Prepared:
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "text/csv":
        try:
            frame = pd.read_csv(io.BytesIO(body))
        except (ValueError, pd.errors.ParserError) as exc:
            raise PayloadError(f"The CSV body could not be parsed: {exc}.") from None
        return checker.from_frame(frame)
    if ctype not in ("application/json", ""):
        raise PayloadError(
            f"Unsupported content type {content_type!r}. Use application/json or text/csv."
        )
    data = loads(body)
    if not isinstance(data, dict) or not (set(data) & set(MLFLOW_FORMATS)):
        keys = list(data) if isinstance(data, dict) else type(data).__name__
        raise PayloadError(
            f"Expected a JSON object with one of the keys {', '.join(MLFLOW_FORMATS)}. Got {keys}."
        )
    if "dataframe_split" in data:
        split = data["dataframe_split"]
        if not isinstance(split, dict) or "data" not in split:
            raise PayloadError("dataframe_split must be an object with 'columns' and 'data'.")
        return checker.from_matrix(split["data"], split.get("columns"))
    if "dataframe_records" in data:
        return _records(data["dataframe_records"], checker, "dataframe_records")
    payload = data.get("instances", data.get("inputs"))
    key = "instances" if "instances" in data else "inputs"
    if isinstance(payload, dict):
        return checker.from_columns(payload)
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return _records(payload, checker, key)
    if isinstance(payload, list):
        return checker.from_matrix(payload)
    raise PayloadError(
        f"'{key}' must be a list of rows, a list of objects or an object of columns."
    )


def _records(records: Any, checker: InputChecker, key: str) -> Prepared:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PayloadError(f"'{key}' must be a list of objects (one per row).")
    if not records:
        raise PayloadError(f"'{key}' is empty: send at least one row.")
    if checker.numeric:
        try:
            matrix = [[r[n] for n in checker.names] for r in records]
        except KeyError as exc:
            raise SignatureMismatchError(
                f"Missing input column {exc.args[0]!r}. Expected columns: {', '.join(checker.names)}."
            ) from None
        return checker.from_matrix(matrix)
    return checker.from_frame(pd.DataFrame.from_records(records))


# -- Open Inference Protocol ------------------------------------------------------------------
def _tensor_array(t: dict[str, Any], binary: bytes | None) -> np.ndarray:
    name = t.get("name")
    dtype_name = t.get("datatype")
    shape = t.get("shape")
    if not isinstance(name, str) or dtype_name not in V2_DTYPES or not isinstance(shape, list):
        raise PayloadError(
            f"Each input tensor needs 'name', 'shape' and a 'datatype' among "
            f"{', '.join(V2_DTYPES)}. Got name={name!r}, datatype={dtype_name!r}, shape={shape!r}."
        )
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise PayloadError(f"Tensor {name!r}: shape must be non-negative integers. Got {shape}.")
    dtype = V2_DTYPES[dtype_name]
    expected = int(np.prod(shape)) if shape else 1
    if binary is not None:
        if dtype_name == "BYTES":
            arr = _unpack_bytes(binary, name)
        else:
            itemsize = np.dtype(dtype).itemsize
            if len(binary) != expected * itemsize:
                raise PayloadError(
                    f"Tensor {name!r}: binary data has {len(binary)} bytes; shape {shape} of "
                    f"{dtype_name} needs {expected * itemsize}."
                )
            arr = np.frombuffer(binary, dtype=dtype)
    else:
        data = t.get("data")
        if data is None:
            raise PayloadError(f"Tensor {name!r} has no 'data'.")
        try:
            arr = np.asarray(data, dtype=dtype).reshape(-1)
        except (TypeError, ValueError, OverflowError):
            raise PayloadError(
                f"Tensor {name!r}: data does not match datatype {dtype_name}."
            ) from None
    if arr.size != expected:
        raise PayloadError(
            f"Tensor {name!r}: shape {shape} needs {expected} values; got {arr.size}."
        )
    return arr.reshape(shape) if shape else arr


def _unpack_bytes(buf: bytes, name: str) -> np.ndarray:
    out, i = [], 0
    while i < len(buf):
        if i + 4 > len(buf):
            raise PayloadError(f"Tensor {name!r}: truncated BYTES element.")
        n = int.from_bytes(buf[i : i + 4], "little")
        out.append(buf[i + 4 : i + 4 + n].decode("utf-8", errors="replace"))
        i += 4 + n
    return np.asarray(out, dtype=object)


@dataclass
class V2Request:
    id: str | None
    prepared: Prepared
    outputs: list[dict[str, Any]]


def parse_v2(body: bytes, header_length: int | None, checker: InputChecker) -> V2Request:
    binary_tail = b""
    if header_length is not None:
        if header_length > len(body) or header_length < 0:
            raise PayloadError("Inference-Header-Content-Length is larger than the body.")
        binary_tail = body[header_length:]
        body = body[:header_length]
    data = loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or not data["inputs"]:
        raise PayloadError("Expected a JSON object with a non-empty 'inputs' list of tensors.")
    req_id = data.get("id")
    if req_id is not None and not isinstance(req_id, str):
        raise PayloadError(f"'id' must be a string. Got {type(req_id).__name__}.")
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for t in data["inputs"]:
        if not isinstance(t, dict):
            raise PayloadError("Each entry of 'inputs' must be a tensor object.")
        size = (t.get("parameters") or {}).get("binary_data_size")
        chunk = None
        if size is not None:
            chunk = binary_tail[offset : offset + int(size)]
            offset += int(size)
        arrays[t.get("name", "")] = _tensor_array(t, chunk)
    outputs = data.get("outputs") or []
    if len(arrays) == 1:
        (arr,) = arrays.values()
        (name,) = arrays.keys()
        if arr.ndim == 2 and (arr.shape[1] == len(checker.names) or name not in checker.index):
            return V2Request(req_id, checker.from_matrix(arr), outputs)
    missing = [n for n in checker.names if n not in arrays]
    if missing:
        raise SignatureMismatchError(
            f"Missing input tensor(s): {', '.join(missing)}. Send one tensor per column named "
            f"{', '.join(checker.names)}, or one [rows, {len(checker.names)}] tensor."
        )
    lengths = {n: a.shape[0] if a.ndim else 1 for n, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise PayloadError(f"All input tensors must have the same number of rows. Got {lengths}.")
    return V2Request(req_id, checker.from_columns(arrays), outputs)
