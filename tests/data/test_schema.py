from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from mainsail.core import UnsupportedColumnTypeError
from mainsail.data import Schema, infer_schema


def test_kinds_ranges_categories() -> None:
    df = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, np.nan, 2.0],
            "b": [True, False, True],
            "s": ["x", "y", None],
            "c": pd.Categorical(["a", "b", "a"]),
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "ni": pd.array([1, None, 3], dtype="Int64"),
            "ns": pd.array(["a", None, "b"], dtype="string"),
            "nb": pd.array([True, None, False], dtype="boolean"),
        }
    )
    s = infer_schema(df)
    kinds = {c.name: c.dtype for c in s.columns}
    assert kinds == {
        "i": "int",
        "f": "float",
        "b": "bool",
        "s": "string",
        "c": "category",
        "t": "datetime",
        "ni": "int",
        "ns": "string",
        "nb": "bool",
    }
    assert (s["i"].min, s["i"].max, s["i"].nullable) == (1.0, 3.0, False)
    assert s["f"].nullable and s["ni"].nullable and s["ns"].nullable
    assert s["s"].categories == ["x", "y"] and s["c"].categories == ["a", "b"]
    assert Schema.from_dict(s.to_dict()) == s
    assert s.names == list(df.columns)


def test_many_distinct_strings_have_no_categories() -> None:
    s = infer_schema(pd.DataFrame({"id": [f"u{i}" for i in range(100)]}), max_categories=50)
    assert s["id"].categories is None


@pytest.mark.parametrize(
    ("values", "found"),
    [
        ([[1], [2]], "mixed"),
        ([{"a": 1}, {"b": 2}], "mixed"),
        ([1, "a"], "mixed"),
        ([b"x", b"y"], "bytes"),
        ([1 + 2j, 3j], "complex"),
    ],
)
def test_unsupported_columns(values: list[object], found: str) -> None:
    with pytest.raises(
        UnsupportedColumnTypeError, match=f"Column 'bad'.*{found}.*Supported column types"
    ):
        infer_schema(pd.DataFrame({"ok": range(len(values)), "bad": values}))


def test_bad_column_names() -> None:
    with pytest.raises(UnsupportedColumnTypeError, match="must be strings"):
        infer_schema(pd.DataFrame({0: [1], 1: [2]}))
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(UnsupportedColumnTypeError, match="unique"):
        infer_schema(df)


@settings(max_examples=50, deadline=None)
@given(
    data_frames(
        [
            column("i", dtype=int),
            column("f", elements=st.floats(allow_nan=True, allow_infinity=False, width=32)),
            column("s", elements=st.sampled_from(["a", "b", "c"])),
            column("b", dtype=bool),
        ]
    )
)
def test_inferred_schema_accepts_its_own_data(df: pd.DataFrame) -> None:
    from mainsail.data import validate

    schema = infer_schema(df)
    assert [c.dtype for c in schema.columns] == ["int", "float", "string", "bool"]
    assert schema["f"].nullable == bool(df["f"].isna().any())
    assert validate(df, schema).ok
