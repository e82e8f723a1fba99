"""Property tests for request parsing."""

from __future__ import annotations

import re

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.core import MainsailError
from mainsail.data import infer_schema
from mainsail.registry import ModelSignature
from mainsail.serving._payloads import InputChecker, PayloadError, parse_invocations, parse_v2

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


# -- structurally wrong JSON, field by field -----------------------------------------------
COLS = ["age", "income", "score"]  # names no message contains by chance
NUMERIC = InputChecker(
    ModelSignature(
        inputs=infer_schema(pd.DataFrame({n: [0.0, 1.0] for n in COLS})),
        outputs={"task": "regression"},
    )
)
MIXED = InputChecker(
    ModelSignature(
        inputs=infer_schema(pd.DataFrame({"age": [0.0, 1.0], "plan": ["x", "y"]})),
        outputs={"task": "regression"},
    )
)
ROWS = [[0.5, 1.5, 2.5], [1.0, 2.0, 3.0]]
VALID_MLFLOW = [
    {"dataframe_split": {"columns": COLS, "data": ROWS}},
    {"dataframe_split": {"columns": COLS[::-1], "data": [r[::-1] for r in ROWS]}},
    {"dataframe_records": [dict(zip(COLS, r, strict=True)) for r in ROWS]},
    {"instances": ROWS},
    {"instances": [dict(zip(COLS, r, strict=True)) for r in ROWS]},
    {"inputs": {n: [r[i] for r in ROWS] for i, n in enumerate(COLS)}},
    {"inputs": ROWS},
]
VALID_V2 = [
    {
        "id": "r1",
        "parameters": {"content_type": "np"},
        "inputs": [
            {
                "name": "x",
                "shape": [2, 3],
                "datatype": "FP64",
                "data": [v for r in ROWS for v in r],
                "parameters": {},
            }
        ],
        "outputs": [{"name": "predict", "parameters": {"binary_data": False}}],
    },
    {
        "inputs": [
            {"name": n, "shape": [2], "datatype": "FP32", "data": [r[i] for r in ROWS]}
            for i, n in enumerate(COLS)
        ]
    },
]
RAW = np.asarray(ROWS, dtype=np.float32).tobytes()
VALID_V2_BINARY = {
    "inputs": [
        {
            "name": "x",
            "shape": [2, 3],
            "datatype": "FP32",
            "parameters": {"binary_data_size": len(RAW)},
        }
    ]
}

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | finite
    | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=6,
)


def _paths(doc: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _mutate(doc: object, path: tuple[object, ...], value: object, delete: bool) -> object:
    doc = orjson.loads(orjson.dumps(doc))  # a deep copy
    parent = doc
    for k in path[:-1]:
        parent = parent[k]  # type: ignore[index]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value  # type: ignore[index]
    return doc


def _names(path: tuple[object, ...], checker: InputChecker) -> list[str]:
    """What an error about ``path`` may name: a key on the path or, inside rows, a column."""
    return [str(k) for k in path if isinstance(k, str)] + list(checker.names)


def _named(name: str, message: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", message) is not None


def _check(fn: object, path: tuple[object, ...], checker: InputChecker) -> None:
    try:
        fn()  # type: ignore[operator]
    except MainsailError as exc:
        assert 400 <= exc.status < 500, (path, exc)
        assert any(_named(n, exc.message) for n in _names(path, checker)), (path, exc.message)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_each_field_structurally_wrong_gets_a_4xx_naming_it(data: st.DataObject) -> None:
    """Any one field of a valid request replaced by junk (or deleted): a 4xx naming it."""
    protocol = data.draw(st.sampled_from(["mlflow", "v2", "v2-binary"]))
    checker = data.draw(st.sampled_from([NUMERIC, MIXED]))
    base: object = (
        data.draw(st.sampled_from(VALID_MLFLOW))
        if protocol == "mlflow"
        else VALID_V2_BINARY
        if protocol == "v2-binary"
        else data.draw(st.sampled_from(VALID_V2))
    )
    path = data.draw(st.sampled_from(_paths(base)))
    doc = _mutate(base, path, data.draw(junk), data.draw(st.booleans()))
    head = orjson.dumps(doc)
    if protocol == "mlflow":
        _check(lambda: parse_invocations(head, "application/json", checker), path, checker)
    elif protocol == "v2":
        _check(lambda: parse_v2(head, None, checker), path, checker)
    else:
        _check(lambda: parse_v2(head + RAW, len(head), checker), path, checker)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"parameters": [1]}, "parameters"),
        ({"inputs": [{"parameters": "x"}]}, "inputs[0].parameters"),
        ({"inputs": [{"parameters": {"binary_data_size": "24"}}]}, "binary_data_size"),
        ({"inputs": [{"parameters": {"binary_data_size": 2.5}}]}, "binary_data_size"),
        ({"inputs": [{"shape": [True, 3]}]}, "inputs[0].shape"),
        ({"outputs": {"name": "predict"}}, "outputs"),
        ({"outputs": [{"name": "predict", "parameters": []}]}, "outputs[0].parameters"),
    ],
)
def test_v2_wrong_types_name_the_field(doc: dict[str, object], field: str) -> None:
    base = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}]}
    body = {**base, **{k: v for k, v in doc.items() if k != "inputs"}}
    if "inputs" in doc:
        body["inputs"] = [{**base["inputs"][0], **doc["inputs"][0]}]  # type: ignore[index]
    with pytest.raises(PayloadError, match=re.escape(field)) as info:
        head = orjson.dumps(body)
        binary = "binary" in field
        parse_v2(head + b"\0" * 24 if binary else head, len(head) if binary else None, CHECKER)
    assert info.value.status == 400 and field in (info.value.field or "")


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"dataframe_split": {"columns": 5, "data": ROWS}}, "dataframe_split.columns"),
        ({"dataframe_split": {"columns": [1, 2, 3], "data": ROWS}}, "dataframe_split.columns"),
        ({"dataframe_split": {"columns": NAMES, "data": {"a": 1}}}, "dataframe_split.data"),
        (
            {"dataframe_split": {"columns": ["a", "a", "b"], "data": ROWS}},
            "dataframe_split.columns",
        ),
        ({"dataframe_records": [1, 2]}, "dataframe_records[0]"),
        ({"inputs": {"a": {"x": 1}, "b": [1], "c": [1]}}, "inputs.a"),
        ({"instances": 7}, "instances"),
    ],
)
def test_mlflow_wrong_types_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(field)) as info:
        parse_invocations(orjson.dumps(doc), "application/json", CHECKER)
    assert info.value.status == 400 and info.value.field == field
