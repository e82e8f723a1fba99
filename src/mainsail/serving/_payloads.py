"""Request parsing for the Open Inference Protocol (V2) and MLflow's /invocations.

JSON is parsed once (orjson) straight into numpy arrays; a numeric signature is checked
on the whole matrix at once. Bad input raises :class:`PayloadError` (HTTP 400/422) that
names the field, the row and what was expected.
"""

from __future__ import annotations

import io
import math
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
    """A request that is not the shape a protocol defines; ``field`` names where (a path)."""

    headline = "Bad request"
    status = 400

    @property
    def field(self) -> str | None:
        value = self.details.get("field")
        return str(value) if value is not None else None


def _describe(value: Any) -> str:
    """A short account of a JSON value for an error message: its type and a preview."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    kinds.update({int: "a number", float: "a number"})
    kind = kinds.get(type(value), "null" if value is None else type(value).__name__)
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode(errors="replace")
    return f"{kind} ({text[:40]}{'...' if len(text) > 40 else ''})"


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

    def from_matrix(
        self, matrix: Any, columns: list[str] | None = None, field: str = "data"
    ) -> Prepared:
        """Rows of values in ``columns`` order (default: signature order)."""
        if columns is not None and columns != self.names:
            return self.from_frame(_frame_from_rows(matrix, columns, field))
        if self.numeric:
            try:
                arr = np.asarray(matrix, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                return self.from_frame(_frame_from_rows(matrix, self.names, field))
            if arr.ndim == 1 and arr.size == len(self.names):
                arr = arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != len(self.names):
                raise PayloadError(
                    f"'{field}': expected rows of {len(self.names)} values "
                    f"({', '.join(self.names)}). Got data of shape {list(arr.shape)}.",
                    field=field,
                )
            return self._check_numeric(arr)
        return self.from_frame(_frame_from_rows(matrix, self.names, field))

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
        arrays = {}
        for k, v in columns.items():
            try:
                arrays[k] = np.asarray(v).reshape(-1)
            except ValueError:  # ragged nested lists
                arrays[k] = np.asarray(v, dtype=object).reshape(-1)
        lengths = {k: len(a) for k, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise PayloadError(
                "All input columns must have the same length. Got "
                + ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
                + ".",
                field="inputs",
                features=list(lengths),
            )
        return self.from_frame(pd.DataFrame(arrays))

    def from_frame(self, frame: pd.DataFrame) -> Prepared:
        out = prepare_input(frame, self.signature, self.extra)  # type: ignore[arg-type]
        return Prepared(out, len(out))


def _frame_from_rows(rows: Any, columns: list[str], field: str = "data") -> pd.DataFrame:
    if isinstance(rows, np.ndarray):  # a V2 tensor
        if rows.ndim != 2 or rows.shape[1] != len(columns):
            raise PayloadError(
                f"'{field}': expected rows of {len(columns)} values ({', '.join(columns)}). "
                f"Got a tensor of shape {list(rows.shape)}.",
                field=field,
            )
        return pd.DataFrame(rows, columns=columns)
    if not isinstance(rows, list):
        raise PayloadError(f"'{field}' must be a list of rows. Got {_describe(rows)}.", field=field)
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        where = f"{field.rsplit('.', 1)[0]}.columns" if "." in field else "columns"
        raise PayloadError(
            f"'{where}' must name each column once. Got {', '.join(dup)} more than once.",
            field=where,
        )
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} values" if isinstance(row, list) else _describe(row)
            raise PayloadError(
                f"'{field}': row {i} must be a list of {width} values ({', '.join(columns)}). "
                f"Got {got}.",
                field=field,
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
            f"Expected a JSON object with one of the keys {', '.join(MLFLOW_FORMATS)}. Got {keys}.",
            field="body",
        )
    if "dataframe_split" in data:
        split = data["dataframe_split"]
        if not isinstance(split, dict) or "data" not in split:
            got = sorted(split) if isinstance(split, dict) else type(split).__name__
            raise PayloadError(
                f"'dataframe_split' must be an object with 'columns' and 'data'. Got {got}.",
                field="dataframe_split",
            )
        columns = split.get("columns")
        if columns is not None and (
            not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
        ):
            raise PayloadError(
                f"'dataframe_split.columns' must be a list of column names (strings). "
                f"Got {_describe(columns)}. Valid names: {', '.join(checker.names)}.",
                field="dataframe_split.columns",
            )
        if not isinstance(split["data"], list):
            raise PayloadError(
                f"'dataframe_split.data' must be a list of rows. Got {_describe(split['data'])}.",
                field="dataframe_split.data",
            )
        return checker.from_matrix(split["data"], columns, field="dataframe_split.data")
    if "dataframe_records" in data:
        return _records(data["dataframe_records"], checker, "dataframe_records")
    payload = data.get("instances", data.get("inputs"))
    key = "instances" if "instances" in data else "inputs"
    if isinstance(payload, dict):
        for name, values in payload.items():
            if isinstance(values, dict) or (
                isinstance(values, list) and any(isinstance(v, list | dict) for v in values)
            ):
                raise PayloadError(
                    f"'{key}.{name}' must be a flat list of values (one per row). "
                    f"Got {_describe(values)}.",
                    field=f"{key}.{name}",
                )
        return checker.from_columns(payload)
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return _records(payload, checker, key)
    if isinstance(payload, list):
        return checker.from_matrix(payload, field=key)
    raise PayloadError(
        f"'{key}' must be a list of rows, a list of objects or an object of columns. "
        f"Got {_describe(payload)}.",
        field=key,
    )


def _records(records: Any, checker: InputChecker, key: str) -> Prepared:
    if not isinstance(records, list):
        raise PayloadError(
            f"'{key}' must be a list of objects (one per row). Got {_describe(records)}.",
            field=key,
        )
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise PayloadError(
                f"'{key}[{i}]' must be an object of column values (one per row). "
                f"Got {_describe(r)}.",
                field=f"{key}[{i}]",
            )
    if not records:
        raise PayloadError(f"'{key}' is empty: send at least one row.", field=key)
    if checker.numeric:
        try:
            matrix = [[r[n] for n in checker.names] for r in records]
        except KeyError as exc:
            raise SignatureMismatchError(
                f"Missing input column {exc.args[0]!r} in '{key}'. Expected columns: "
                f"{', '.join(checker.names)}.",
                field=key,
                features=[exc.args[0]],
                sent=sorted({str(k) for r in records[:100] for k in r})[:100],
            ) from None
        return checker.from_matrix(matrix, field=key)
    return checker.from_frame(pd.DataFrame.from_records(records))


# -- Open Inference Protocol ------------------------------------------------------------------
def _parameters(value: Any, field: str) -> dict[str, Any]:
    """A V2 ``parameters`` object (absent or null is empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(
            f"'{field}' must be an object of named parameters. Got {_describe(value)}.",
            field=field,
        )
    return value


def _tensor_array(t: dict[str, Any], binary: bytes | None, field: str) -> np.ndarray:
    name = t.get("name")
    dtype_name = t.get("datatype")
    shape = t.get("shape")
    if not isinstance(name, str):
        raise PayloadError(
            f"'{field}.name' must be the tensor's name (a string). Got {_describe(name)}.",
            field=f"{field}.name",
        )
    if not isinstance(dtype_name, str) or dtype_name not in V2_DTYPES:
        raise PayloadError(
            f"'{field}.datatype' of tensor {name!r} must be one of {', '.join(V2_DTYPES)}. "
            f"Got {_describe(dtype_name)}.",
            field=f"{field}.datatype",
        )
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise PayloadError(
            f"'{field}.shape' of tensor {name!r} must be a list of non-negative integers. "
            f"Got {_describe(shape)}.",
            field=f"{field}.shape",
        )
    dtype = V2_DTYPES[dtype_name]
    expected = math.prod(shape)
    if binary is not None:
        if "data" in t:
            raise PayloadError(
                f"Tensor {name!r} has both 'data' and 'parameters.binary_data_size': send its "
                "values one way.",
                field=f"{field}.data",
            )
        if dtype_name == "BYTES":
            arr = _unpack_bytes(binary, name)
        else:
            itemsize = np.dtype(dtype).itemsize
            if len(binary) != expected * itemsize:
                raise PayloadError(
                    f"Tensor {name!r}: binary data has {len(binary)} bytes "
                    f"('{field}.parameters.binary_data_size'); '{field}.shape' {shape} of "
                    f"{dtype_name} needs {expected * itemsize}.",
                    field=f"{field}.parameters.binary_data_size",
                )
            arr = np.frombuffer(binary, dtype=dtype)
    else:
        data = t.get("data")
        if not isinstance(data, list):
            raise PayloadError(
                f"'{field}.data' of tensor {name!r} must be a list of values. "
                f"Got {_describe(data)}.",
                field=f"{field}.data",
            )
        try:
            with np.errstate(over="raise", invalid="raise"):
                arr = np.asarray(data, dtype=dtype).reshape(-1)
        except (TypeError, ValueError, OverflowError, FloatingPointError):
            raise PayloadError(
                f"'{field}.data' of tensor {name!r} does not match datatype {dtype_name}: "
                f"send a flat (or nested, rectangular) list of {dtype_name} values in its range.",
                field=f"{field}.data",
            ) from None
    if arr.size != expected:
        raise PayloadError(
            f"Tensor {name!r}: '{field}.shape' {shape} needs {expected} values; got {arr.size}.",
            field=f"{field}.shape",
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


def _outputs(value: Any) -> list[dict[str, Any]]:
    """The requested outputs: a list of ``{"name": str, "parameters": {...}}`` objects."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(
            f"'outputs' must be a list of requested outputs. Got {_describe(value)}.",
            field="outputs",
        )
    for i, o in enumerate(value):
        if not isinstance(o, dict) or not isinstance(o.get("name"), str):
            raise PayloadError(
                f"'outputs[{i}]' must be an object with a 'name' (predict or predict_proba). "
                f"Got {_describe(o)}.",
                field=f"outputs[{i}].name",
            )
        params = _parameters(o.get("parameters"), f"outputs[{i}].parameters")
        flag = params.get("binary_data")
        if flag is not None and not isinstance(flag, bool):
            raise PayloadError(
                f"'outputs[{i}].parameters.binary_data' must be true or false. "
                f"Got {_describe(flag)}.",
                field=f"outputs[{i}].parameters.binary_data",
            )
    return value


def parse_v2(body: bytes, header_length: int | None, checker: InputChecker) -> V2Request:
    binary_tail = b""
    if header_length is not None:
        if header_length > len(body) or header_length < 0:
            raise PayloadError(
                f"Inference-Header-Content-Length is {header_length}, but the body has "
                f"{len(body)} bytes. It must be the length of the JSON header.",
                field="inference-header-content-length",
            )
        binary_tail = body[header_length:]
        body = body[:header_length]
    data = loads(body)
    if not isinstance(data, dict):
        raise PayloadError(
            f"Expected a JSON object with a non-empty 'inputs' list of tensors. "
            f"Got {_describe(data)}.",
            field="inputs",
        )
    if not isinstance(data.get("inputs"), list) or not data["inputs"]:
        raise PayloadError(
            f"'inputs' must be a non-empty list of tensors. Got {_describe(data.get('inputs'))}.",
            field="inputs",
        )
    req_id = data.get("id")
    if req_id is not None and not isinstance(req_id, str):
        raise PayloadError(f"'id' must be a string. Got {_describe(req_id)}.", field="id")
    _parameters(data.get("parameters"), "parameters")
    outputs = _outputs(data.get("outputs"))
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for i, t in enumerate(data["inputs"]):
        field = f"inputs[{i}]"
        if not isinstance(t, dict):
            raise PayloadError(
                f"'{field}' must be a tensor object (name, shape, datatype, data). "
                f"Got {_describe(t)}.",
                field=field,
            )
        size = _parameters(t.get("parameters"), f"{field}.parameters").get("binary_data_size")
        chunk = None
        if size is not None:
            where = f"{field}.parameters.binary_data_size"
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise PayloadError(
                    f"'{where}' must be a non-negative integer (bytes). Got {_describe(size)}.",
                    field=where,
                )
            if header_length is None:
                raise PayloadError(
                    f"'{where}' is set, but the request has no Inference-Header-Content-Length "
                    "header: send the JSON length there and the tensor bytes after the JSON.",
                    field=where,
                )
            if offset + size > len(binary_tail):
                raise PayloadError(
                    f"'{where}' asks for {size} bytes at offset {offset}, but the binary part "
                    f"of the body has {len(binary_tail)} bytes.",
                    field=where,
                )
            chunk = binary_tail[offset : offset + size]
            offset += size
        arr = _tensor_array(t, chunk, field)
        if t["name"] in arrays:
            raise PayloadError(
                f"'{field}.name': tensor {t['name']!r} is sent twice. Name each tensor once.",
                field=f"{field}.name",
            )
        arrays[t["name"]] = arr
    if len(arrays) == 1:
        (arr,) = arrays.values()
        (name,) = arrays.keys()
        if arr.ndim == 2 and (arr.shape[1] == len(checker.names) or name not in checker.index):
            return V2Request(req_id, checker.from_matrix(arr, field="inputs[0].data"), outputs)
    missing = [n for n in checker.names if n not in arrays]
    if missing:
        raise SignatureMismatchError(
            f"Missing input tensor(s): {', '.join(missing)}. Send one tensor per column named "
            f"{', '.join(checker.names)}, or one [rows, {len(checker.names)}] tensor.",
            field="inputs",
            features=missing,
        )
    lengths = {n: a.shape[0] if a.ndim else 1 for n, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise PayloadError(
            f"All input tensors must have the same number of rows ('inputs[*].shape'). "
            f"Got {lengths}.",
            field="inputs",
        )
    return V2Request(req_id, checker.from_columns(arrays), outputs)
