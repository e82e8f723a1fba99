"""Release check ``capacity``: reads the curve ``mainsail loadtest`` stored on the version."""

from __future__ import annotations

from typing import Any

import pytest

import mainsail
from mainsail.core import InvalidValueError
from mainsail.core._capacity import CapacityCurve, CapacityPoint, with_curve


def store_curve(
    name: str, version: int, steps: list[tuple[int, float, float]], workers: int = 1
) -> None:
    """Store a curve of (concurrency, requests/s, p99 ms) steps on a version's card."""
    ctx = mainsail.get_context()
    points = [
        CapacityPoint(
            concurrency=c,
            duration_s=1.0,
            requests=int(rps),
            errors=0,
            error_rate=0.0,
            rps=rps,
            rows_per_s=rps * 10,
            p50_ms=p99 / 4,
            p99_ms=p99,
        )  # fmt: skip
        for c, rps, p99 in steps
    ]
    curve = CapacityCurve(
        target=f"models:/{name}/{version}", model=name, version=version, workers=workers,
        rows_per_request=10, points=points,
    )  # fmt: skip
    card = ctx.store.get_model_version(name, version).card
    ctx.store.update_model_version(name, version, card=with_curve(card, curve))


def _capacity(churn: Any, section: dict[str, Any]) -> Any:
    r = mainsail.check("churn/2", churn, policy={"capacity": section}, progress=False)
    [outcome] = [o for o in r.checks if o.kind == "capacity"]
    return r, outcome


def test_the_best_step_within_the_p99_budget_must_reach_the_floor(churn: Any) -> None:
    store_curve("churn", 2, [(1, 300.0, 5.0), (8, 1200.0, 20.0), (32, 1500.0, 80.0)])
    r, o = _capacity(churn, {"p99_ms": 25, "min_rps": 1000})
    assert o.status == "pass" and o.value == 1200.0 and o.threshold == 1000
    assert "1200 requests/s at p99 20.0 ms (budget 25 ms) with 1 worker(s)" in o.detail
    assert r.verdict == "blessed"
    # a tighter budget leaves only c=1: 300/s is below the floor
    r, o = _capacity(churn, {"p99_ms": 10, "min_rps": 1000})
    assert o.status == "fail" and o.value == 300.0 and "below the floor" in o.detail
    assert r.verdict == "rejected"
    # rows/s: 10 rows per request
    _, o = _capacity(churn, {"p99_ms": 100, "min_rows_per_s": 12000})
    assert o.status == "pass" and o.value == 15000.0 and "rows/s" in o.detail


def test_no_step_within_budget_or_no_curve_fails_and_says_what_to_run(churn: Any) -> None:
    _, o = _capacity(churn, {"p99_ms": 25, "min_rps": 10})
    assert o.status == "fail"
    assert "no capacity curve is stored on models:/churn/2" in o.detail
    assert "'mainsail loadtest models:/churn/2'" in o.detail
    store_curve("churn", 2, [(1, 300.0, 40.0)])
    _, o = _capacity(churn, {"p99_ms": 25, "min_rps": 10})
    assert o.status == "fail" and "lowest p99 measured: 40.0 ms" in o.detail
    _, o = _capacity(churn, {"p99_ms": 50, "min_rps": 10, "workers": 2})
    assert o.status == "fail" and "for 2 worker(s)" in o.detail and "--workers 2" in o.detail
    store_curve("churn", 2, [(1, 900.0, 30.0)], workers=2)  # kept beside the 1-worker curve
    _, o = _capacity(churn, {"p99_ms": 50, "min_rps": 500})
    assert o.status == "pass" and o.data["workers"] == 2 and o.data["curves"] == [1, 2]


def test_a_capacity_section_needs_a_floor() -> None:
    with pytest.raises(InvalidValueError, match="give min_rps"):
        mainsail.checks.load_policy({"capacity": {"p99_ms": 50}})
