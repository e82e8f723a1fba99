"""Classifying refused requests per reason and feature, and counting them in the sketches."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from mainsail.core import MainsailError, SignatureMismatchError
from mainsail.data import infer_schema
from mainsail.registry import ModelSignature
from mainsail.serving import LiveSketches
from mainsail.serving._payloads import InputChecker, parse_invocations
from mainsail.serving._refusals import MAX_FEATURES, classify

CHECKER = InputChecker(
    ModelSignature(
        inputs=infer_schema(pd.DataFrame({"age": [1.0, 2.0], "income": [3.0, 4.0]})),
        outputs={"task": "regression"},
    )
)


def _refusal(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(MainsailError) as info:
        parse_invocations(orjson.dumps(doc), "application/json", CHECKER)
    return classify(info.value, CHECKER.names)


def test_reasons_and_features() -> None:
    assert _refusal({"dataframe_records": [{"age_years": 1.0, "income": 2.0}]}) == [
        ("missing_column", "age"),
        ("unexpected_column", "age_years"),
    ]
    assert _refusal(
        {"dataframe_split": {"columns": ["income", "age_years"], "data": [[1.0, 2.0]]}}
    ) == [("missing_column", "age"), ("unexpected_column", "age_years")]
    assert _refusal({"instances": [{"age": "old", "income": 2.0}]}) == [("type", "age")]
    assert _refusal({"instances": [[1.0, None]]}) == [("missing_value", "income")]
    assert _refusal({"dataframe_split": {"columns": 1, "data": []}}) == [
        ("malformed", "dataframe_split.columns")
    ]
    assert classify(MainsailError("not a refusal", field="x"), CHECKER.names) == []
    assert classify(SignatureMismatchError("Input 'zzz' must be a number."), ["age"]) == []


def test_sketch_windows_carry_refusals_without_served_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sk = LiveSketches(str(tmp_path), "churn")
    sk.record_refusal("3", [("missing_column", "age"), ("unexpected_column", "age_years")])
    sk.record_refusal("3", [("missing_column", "age")])
    for i in range(MAX_FEATURES + 5):
        sk.record_refusal("3", [("unexpected_column", f"junk{i}")])
    assert sk.flush() == 1
    (path,) = (tmp_path / "sketches" / "endpoint=churn" / "version=3").glob("*.json")
    doc = orjson.loads(path.read_bytes())
    assert doc["rows"] == 0 and doc["profile"] is None and doc["refused"] == MAX_FEATURES + 7
    assert doc["refusals"]["missing_column"] == {"age": 2}
    unexpected = doc["refusals"]["unexpected_column"]
    assert len(unexpected) == MAX_FEATURES + 1 and unexpected["__other__"] == 6
