"""Parquet files and Arrow data as drift inputs, read one column at a time.

``drift(reference, current)`` accepts a Parquet path (a file, or a folder of files) or a
``pyarrow.dataset.Dataset`` / ``pyarrow.Table`` on either side. Such a side is wrapped in a
:class:`ColumnSource`, which reads only the column a test needs, hands it to the same
:class:`~mainsail.monitoring._columns.RawColumn` the in-memory path builds, and lets it go
before the next column. Peak memory is one column per side instead of two whole frames,
and the verdicts are the ones ``drift(pd.read_parquet(a), pd.read_parquet(b))`` gives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mainsail.core._errors import InvalidValueError, UnsupportedColumnTypeError
from mainsail.monitoring._columns import RawColumn, ticks_to_ns

#: Arrow type families and the drift kind they map to (as ``column_kind`` does for pandas).
_NUMERIC = ("integer", "floating", "timestamp")
_CATEGORICAL = ("boolean", "string", "dictionary")


class ColumnSource:
    """A table that is read one column at a time (a Parquet file, folder or Arrow dataset).

    Parameters
    ----------
    data : str, os.PathLike, pyarrow.dataset.Dataset or pyarrow.Table
        A ``.parquet`` file, a folder of Parquet files, or Arrow data already opened.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.parquet")
    >>> pd.DataFrame({"x": [1.0, 2.0], "plan": ["a", "b"]}).to_parquet(path)
    >>> src = ColumnSource(path)
    >>> src.names, src.kind_of("x"), src.kind_of("plan")
    (['x', 'plan'], 'numeric', 'categorical')
    """

    def __init__(self, data: Any) -> None:
        import pyarrow as pa
        import pyarrow.dataset as pads

        self.label = str(data) if isinstance(data, str | os.PathLike) else type(data).__name__
        if isinstance(data, str | os.PathLike):
            path = Path(data)
            if not path.exists():
                raise InvalidValueError(
                    f"Expected a Parquet file or a folder of Parquet files. Found no file at "
                    f"'{path}'. Pass an existing path, a DataFrame, a Profile or a pyarrow "
                    "Dataset."
                )
            try:
                self._data: Any = pads.dataset(str(path), format="parquet")
                schema = self._data.schema
            except (pa.ArrowInvalid, OSError) as exc:
                raise InvalidValueError(
                    f"Could not read '{path}' as Parquet: {exc}. Expected a .parquet file or a "
                    "folder of them; convert CSV or JSON with pandas first "
                    "(pd.read_csv(p).to_parquet(...))."
                ) from exc
        elif isinstance(data, pads.Dataset | pa.Table):
            self._data = data
            schema = data.schema
        else:
            raise InvalidValueError(
                "Expected a DataFrame, a Profile, a Parquet path or a pyarrow Dataset/Table. "
                f"Got {type(data).__name__}."
            )
        self._types = {str(f.name): f.type for f in schema if not _is_pandas_index(f.name)}
        self.names = list(self._types)
        if isinstance(data, str | os.PathLike):
            # Decode string columns straight into dictionary arrays: counting their values
            # then counts small integer codes instead of building a million strings.
            strings = [n for n, t in self._types.items() if _is_string(t)]
            if strings:
                options = pads.ParquetReadOptions(dictionary_columns=strings)
                fmt = pads.ParquetFileFormat(read_options=options)
                self._data = pads.dataset(str(path), format=fmt)

    def __repr__(self) -> str:
        return f"ColumnSource({self.label!r})"

    def kind_of(self, name: str) -> str:
        """``"numeric"`` or ``"categorical"``, as the in-memory path decides for pandas."""
        return _kind(name, self._types[name])

    def column(self, name: str, kind: str) -> RawColumn:
        """Read column ``name`` (only it) and summarise it as a drift test needs."""
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = self._read(name)
        if kind == "numeric":
            unit = arr.type.unit if pa.types.is_timestamp(arr.type) else None
            if unit is not None:
                arr = arr.cast(pa.int64())  # UTC ticks, also for tz-aware timestamps
            # Nulls become NaN, which RawColumn drops, like pandas' to_numpy(na_value=nan).
            # An unsafe cast rounds integers beyond 2**53 (ids, ns timestamps) to the
            # nearest float64 as numpy does on the frame path; a safe one refuses them.
            values = np.asarray(pc.cast(arr, pa.float64(), safe=False).to_numpy(), "float64")
            if unit is not None:
                values = ticks_to_ns(values, unit)  # instants, as the frame path sees them
            return RawColumn(values, "numeric")
        counts: dict[str, int] = {}
        if pa.types.is_dictionary(self._types[name]):
            # pandas reads a dictionary column as a Categorical whose categories are every
            # dictionary value, counted even when absent: keep them, for the same verdicts.
            for chunk in arr.chunks:
                for value in chunk.dictionary.to_pylist():
                    if value is not None:
                        counts.setdefault(str(value), 0)
        vc = pc.value_counts(arr)
        for value, count in zip(
            vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True
        ):
            if value is not None:
                key = str(value)
                counts[key] = counts.get(key, 0) + int(count)
        return RawColumn.from_counts(counts)

    def _read(self, name: str) -> Any:
        import pyarrow as pa

        if isinstance(self._data, pa.Table):
            return self._data.column(name)
        return self._data.to_table(columns=[name]).column(0)


def _is_pandas_index(name: str) -> bool:
    # pandas writes a non-default index as "__index_level_0__"; it is not a column.
    return name.startswith("__index_level_") and name.endswith("__")


def _is_string(dtype: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))


def _kind(name: str, dtype: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(dtype) or pa.types.is_dictionary(dtype):
        return "categorical"
    if _is_string(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return "numeric"
    if pa.types.is_timestamp(dtype):
        return "numeric"
    raise UnsupportedColumnTypeError(
        f"Column {name!r} has Arrow type '{dtype}'. Supported Arrow types are: "
        f"{', '.join(_NUMERIC + _CATEGORICAL)}. Leave the column out with columns=[...] or "
        "convert it when writing the file (e.g. decimals to float64)."
    )


def is_table_like(data: Any) -> bool:
    """Whether ``data`` is something :class:`ColumnSource` reads (path or Arrow data)."""
    if isinstance(data, str | os.PathLike):
        return True
    mod = type(data).__module__
    return mod.startswith("pyarrow")
