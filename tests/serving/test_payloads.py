"""Property tests for request parsing."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.core import MainsailError
from mainsail.data import infer_schema
from mainsail.registry import ModelSignature
from mainsail.serving._payloads import InputChecker, parse_invocations, parse_v2

NAMES = ["a", "b", "c"]
SIG = ModelSignature(
    inputs=infer_schema(pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 2.0], "c": [3.0, np.nan]})),
    outputs={"task": "regression"},
)
CHECKER = InputChecker(SIG)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(finite, min_size=3, max_size=3), min_size=1, max_size=20))
def test_every_format_parses_to_the_same_frame(rows: list[list[float]]) -> None:
    expected = np.asarray(rows, dtype=float)
    bodies = [
        {"dataframe_split": {"columns": NAMES, "data": rows}},
        {"dataframe_records": [dict(zip(NAMES, r, strict=True)) for r in rows]},
        {"instances": rows},
        {"inputs": {n: [r[i] for r in rows] for i, n in enumerate(NAMES)}},
    ]
    for body in bodies:
        got = parse_invocations(orjson.dumps(body), "application/json", CHECKER)
        np.testing.assert_array_equal(got.frame[NAMES].to_numpy(), expected)
    v2 = {
        "inputs": [
            {
                "name": "x",
                "shape": [len(rows), 3],
                "datatype": "FP64",
                "data": expected.ravel().tolist(),
            }
        ]
    }
    np.testing.assert_array_equal(
        parse_v2(orjson.dumps(v2), None, CHECKER).prepared.frame.to_numpy(), expected
    )


def test_binary_tensor_extension() -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    raw = arr.tobytes()
    head = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 3],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    )
    got = parse_v2(head + raw, len(head), CHECKER)
    np.testing.assert_array_equal(got.prepared.frame.to_numpy(), arr.astype(float))


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | finite | st.text(max_size=5),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    )
)
def test_junk_only_raises_mainsail_errors(doc: object) -> None:
    body = orjson.dumps(doc)
    for fn in (
        lambda: parse_invocations(body, "application/json", CHECKER),
        lambda: parse_v2(body, None, CHECKER),
    ):
        try:
            fn()
        except MainsailError:
            pass


@given(st.binary(max_size=64))
def test_junk_bytes_only_raise_mainsail_errors(body: bytes) -> None:
    for ctype in ("application/json", "text/csv"):
        try:
            parse_invocations(body, ctype, CHECKER)
        except MainsailError:
            pass


def test_string_and_object_predictions_serialise_as_json() -> None:
    # A classifier trained on string labels predicts a numpy unicode array, which orjson's
    # numpy support refuses: that was a 500 on every request.
    import pytest

    from mainsail.serving._app import _json

    body = {
        "predictions": np.array(["10", "2"]),
        "p": np.array([0.5]),
        "o": np.array([1, "a"], dtype=object),
    }
    assert orjson.loads(_json(body).body) == {"predictions": ["10", "2"], "p": [0.5], "o": [1, "a"]}
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        _json({"x": object()})
