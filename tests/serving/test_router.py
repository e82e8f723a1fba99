"""The O(1) router: weights, sticky keys, header pinning, shadows."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.serving._router import SLOTS, Route, Router


def test_weights_become_slot_shares() -> None:
    r = Router([Route("stable", "s", 95), Route("canary", "c", 5, "canary")])
    assert r.share("canary") == pytest.approx(0.05, abs=1 / SLOTS)
    picks = [r.pick() for _ in range(20_000)]
    assert picks.count("c") / len(picks) == pytest.approx(0.05, abs=0.01)


@settings(deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=6), st.text(min_size=1, max_size=30))
def test_table_is_full_and_sticky(weights: list[float], key: str) -> None:
    routes = [Route(f"v{i}", f"m{i}", w, "arm") for i, w in enumerate(weights)]
    r = Router(routes)
    assert len(r._table) == SLOTS
    assert r.pick(key=key) is r.pick(key=key)  # same key, same variant, every time
    if sum(weights) > 0:
        for i, w in enumerate(weights):
            assert r.share(f"v{i}") == pytest.approx(w / sum(weights), abs=len(weights) / SLOTS)


def test_stickiness_is_the_same_in_another_router() -> None:
    """CRC-32, not Python's salted hash: replicas agree on every key's arm."""
    a = Router([Route("a", "A", 50, "arm"), Route("b", "B", 50, "arm")])
    b = Router([Route("a", "A", 50, "arm"), Route("b", "B", 50, "arm")])
    keys = [f"user-{i}" for i in range(200)]
    assert [a.pick(key=k) for k in keys] == [b.pick(key=k) for k in keys]
    assert {a.pick(key=k) for k in keys} == {"A", "B"}


def test_zero_weight_preview_only_by_header_and_shadow_never() -> None:
    r = Router(
        [
            Route("stable", "s", 100),
            Route("preview", "p", 0, "preview"),
            Route("shadow", "x", 0, "shadow"),
        ]
    )
    assert {r.pick() for _ in range(2000)} == {"s"}
    assert r.pick(variant="preview") == "p"
    assert r.pick(variant="nope") == "s"
    assert {r.pick(variant="shadow") for _ in range(200)} == {"s"}  # not addressable
    assert r.share("shadow") == 0.0
    assert r.shadows == ["x"] and r.wants_shadow()
    assert "x" not in r._table


def test_a_router_needs_a_serving_variant() -> None:
    with pytest.raises(ValueError, match="not a shadow"):
        Router([Route("shadow", "x", 0, "shadow")])


def test_sticky_by_an_input_field() -> None:
    from mainsail.serving import EndpointPlane

    class Stub:
        def __init__(self, name: str) -> None:
            self.variant = name

    plane = EndpointPlane.__new__(EndpointPlane)
    plane.router = Router(
        [Route("a", Stub("a"), 50, "arm"), Route("b", Stub("b"), 50, "arm")], key_field="user"
    )
    frames = [pd.DataFrame({"user": [f"u{i}"], "x": [1.0]}) for i in range(50)]
    first = [plane.rekey(None, False, f).variant for f in frames]  # type: ignore[arg-type]
    again = [plane.rekey(None, False, f).variant for f in frames]  # type: ignore[arg-type]
    assert first == again and set(first) == {"a", "b"}
    pinned = Stub("pinned")
    assert plane.rekey(pinned, True, frames[0]) is pinned  # a header already decided
