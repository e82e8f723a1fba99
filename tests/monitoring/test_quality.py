"""Data quality: missing-rate jumps, out-of-range, unseen categories, type errors, schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mainsail.data import infer_schema, profile_frame
from mainsail.monitoring import check_quality


@pytest.fixture
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 5000
    return pd.DataFrame(
        {
            "age": rng.uniform(18, 90, n),
            "income": rng.normal(50, 10, n),
            "plan": rng.choice(["basic", "pro", "max"], n),
        }
    )


def live(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.uniform(18, 90, n),
            "income": rng.normal(50, 10, n),
            "plan": rng.choice(["basic", "pro", "max"], n),
        }
    )


def test_clean_traffic_has_no_issues(reference) -> None:  # type: ignore[no-untyped-def]
    r = check_quality(live(), infer_schema(reference), profile_frame(reference))
    assert r.ok, r.summary()
    assert r.missing_rates == {"age": 0.0, "income": 0.0, "plan": 0.0}


def test_each_problem_with_counts_and_examples(reference) -> None:  # type: ignore[no-untyped-def]
    cur = live()
    cur.loc[:299, "income"] = np.nan  # 15% missing
    cur.loc[300:339, "age"] = -5.0  # 40 out of range
    cur.loc[340:364, "plan"] = "platinum"  # 25 unseen
    cur["age"] = cur["age"].astype(object)
    cur.loc[365:371, "age"] = "forty"  # 7 type errors
    r = check_quality(cur, infer_schema(reference), profile_frame(reference))
    by = {(i.check, i.column): i for i in r.issues}
    miss = by[("missing", "income")]
    assert miss.count == 300 and miss.rate == pytest.approx(0.15) and miss.reference_rate == 0
    rng_ = by[("range", "age")]
    assert rng_.count == 40 and rng_.examples[:2] == [-5.0, -5.0]
    unseen = by[("unseen", "plan")]
    assert unseen.count == 25 and unseen.examples == ["platinum"]
    typ = by[("type", "age")]
    assert typ.count == 7 and typ.examples[0] == "forty"
    assert set(by) == {("missing", "income"), ("range", "age"), ("unseen", "plan"), ("type", "age")}
    s = r.scores()
    assert s["quality.missing_rate.income"] == pytest.approx(0.15)
    assert s["quality.range_rate.age"] == pytest.approx(0.02)
    assert "forty" in r.summary()


def test_renamed_and_removed_columns(reference) -> None:  # type: ignore[no-untyped-def]
    cur = live().rename(columns={"income": "income_eur"}).drop(columns=["plan"])
    r = check_quality(cur, infer_schema(reference), profile_frame(reference))
    schema = r.by_check("schema")
    assert [(i.column, i.count) for i in schema] == [
        ("income", 2000),
        ("plan", 2000),
        ("income_eur", 2000),
    ]
    assert "was it renamed?" in schema[0].message and "income_eur" in schema[0].message
    assert len(schema[2].examples) == 5
    assert r.missing_rates["income"] == 1.0 and r.missing_rates["plan"] == 1.0


def test_small_missing_wobble_is_not_an_issue(reference) -> None:  # type: ignore[no-untyped-def]
    cur = live()
    cur.loc[:19, "income"] = np.nan  # 1%: below the 5-point jump
    assert check_quality(cur, reference=profile_frame(reference)).ok


def test_quality_from_a_live_profile(reference) -> None:  # type: ignore[no-untyped-def]
    ref = profile_frame(reference)
    cur = live()
    cur.loc[:399, "income"] = np.nan
    cur.loc[400:499, "age"] = 500.0
    cur.loc[500:549, "plan"] = "gold"
    r = check_quality(profile_frame(cur, reference=ref), infer_schema(reference), ref)
    by = {(i.check, i.column): i for i in r.issues}
    assert by[("missing", "income")].count == 400
    assert by[("range", "age")].count == pytest.approx(100, abs=10)
    assert by[("range", "age")].examples == [500.0]
    assert by[("unseen", "plan")].count == 50 and by[("unseen", "plan")].examples == ["gold"]
