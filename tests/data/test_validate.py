from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mainsail.core import DataValidationError
from mainsail.data import infer_schema, validate


@pytest.fixture
def schema():  # type: ignore[no-untyped-def]
    return infer_schema(
        pd.DataFrame(
            {
                "age": [20, 30, 40, 50],
                "income": [1.0, 2.0, 3.0, 4.0],
                "plan": ["basic", "pro", "basic", "pro"],
                "active": [True, False, True, True],
            }
        )
    )


def test_clean_data_passes(schema) -> None:  # type: ignore[no-untyped-def]
    report = validate(
        pd.DataFrame({"age": [25], "income": [2.5], "plan": ["pro"], "active": [False]}), schema
    )
    assert report.ok and "OK" in report.summary()


def test_every_violation_is_reported(schema) -> None:  # type: ignore[no-untyped-def]
    df = pd.DataFrame(
        {
            "age": [25, 99, 10, np.nan],
            "income": ["a", "b", "3.0", "x"],
            "plan": ["basic", "enterprise", "gold", "pro"],
            "extra": [1, 2, 3, 4],
        }
    )
    report = validate(df, schema, allow_extra=False)
    kinds = {(v.column, v.kind): v for v in report.violations}
    assert set(kinds) == {
        ("age", "out_of_range"),
        ("age", "null_in_non_nullable"),
        ("income", "type_changed"),
        ("plan", "unseen_category"),
        ("active", "missing_column"),
        ("extra", "extra_column"),
    }
    oor = kinds[("age", "out_of_range")]
    assert oor.count == 2 and [e["row"] for e in oor.examples] == [1, 2]
    assert kinds[("income", "type_changed")].count == 3  # "3.0" still parses as a number
    unseen = kinds[("plan", "unseen_category")]
    assert unseen.count == 2 and "enterprise" in unseen.found and "gold" in unseen.found
    assert report.to_dict()["ok"] is False


def test_string_column_arriving_numeric(schema) -> None:  # type: ignore[no-untyped-def]
    df = pd.DataFrame({"age": [25], "income": [1.0], "plan": [3], "active": [True]})
    (v,) = validate(df, schema).violations
    assert (v.kind, v.column) == ("type_changed", "plan")


def test_strict_raises_with_report(schema) -> None:  # type: ignore[no-untyped-def]
    df = pd.DataFrame({"age": [500], "income": [1.0], "plan": ["pro"], "active": [True]})
    with pytest.raises(DataValidationError, match="age: out_of_range in 1 row") as info:
        validate(df, schema, strict=True)
    assert info.value.report.violations[0].kind == "out_of_range"


def test_renames_pair_by_name_and_extra_columns_alone_pass(schema) -> None:  # type: ignore[no-untyped-def]
    from mainsail.data._validate import _renames

    frame = pd.DataFrame({"a": [1], "b": [2], "new": [3]})
    assert validate(frame.drop(columns="new"), infer_schema(frame.drop(columns="new"))).ok
    assert validate(frame, infer_schema(frame.drop(columns="new"))).ok  # an extra column alone
    wide = pd.DataFrame({"income": [1.0], "plan": ["a"], "age": [3]})
    got = pd.DataFrame({"income_usd": [1.0], "plan_name": ["a"], "age": [3]})
    assert _renames(got, infer_schema(wide)) == {"income": "income_usd", "plan": "plan_name"}
