from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mainsail.core import FilterSyntaxError
from mainsail.tracking._filter import (
    And,
    Comparison,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)


def test_basic_and_mlflow_syntax() -> None:
    assert parse_filter("metrics.auc > 0.9 and params.depth = '3'") == And(
        (Comparison("metrics", "auc", ">", 0.9), Comparison("params", "depth", "=", "3"))
    )
    assert parse_filter("metric.auc == 1e-3") == Comparison("metrics", "auc", "=", 0.001)
    assert parse_filter("attributes.status = 'FINISHED'") == Comparison(
        "attributes", "status", "=", "FINISHED"
    )
    assert parse_filter('status != "failed"') == Comparison("attributes", "status", "!=", "failed")
    assert parse_filter("  ") is None and parse_filter(None) is None


def test_precedence_and_parentheses() -> None:
    a = Comparison("metrics", "a", ">", 1.0)
    b = Comparison("metrics", "b", ">", 2.0)
    c = Comparison("metrics", "c", ">", 3.0)
    assert parse_filter("metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3") == Or((And((a, b)), c))
    assert parse_filter("metrics.a > 1 AND (metrics.b > 2 OR metrics.c > 3)") == And(
        (a, Or((b, c)))
    )


def test_quoting_in_and_null() -> None:
    assert parse_filter("tags.`my key` = 'it''s'") == Comparison("tags", "my key", "=", "it's")
    assert parse_filter('params."learning-rate" IN (\'0.1\', "0.2")') == Comparison(
        "params", "learning-rate", "IN", ("0.1", "0.2")
    )
    assert parse_filter("params.x NOT IN ('a')") == Comparison("params", "x", "NOT IN", ("a",))
    assert parse_filter("metrics.loss IS NOT NULL") == Comparison("metrics", "loss", "IS NOT NULL")
    assert parse_filter("tags.t ILIKE '%Prod%'") == Comparison("tags", "t", "ILIKE", "%Prod%")
    assert parse_filter("start_time >= 1700000000000") == Comparison(
        "attributes", "start_time", ">=", 1.7e12
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.auc greater 3", "position 12: expected an operator"),
        ("params.x = 'open", "unterminated string"),
        ("foo.x = 1", "expected an entity prefix"),
        ("metrics.auc = 'high'", "compare it with a number"),
        ("params.depth > '3'", "holds strings"),
        ("params.depth = 3", "quote the value"),
        ("metrics.a > 1 AND", "the end of the filter"),
        ("()", "expected a key"),
        ("metrics.a > 1 metrics.b > 2", "AND, OR or the end"),
        ("metrics.a > 1)", "AND, OR or the end"),
        ("(metrics.a > 1", "')'"),
        ("metrics.a IN 3", "'(' after IN"),
        ("metrics.a @ 3", "position 10"),
    ],
)
def test_errors_say_where_and_what(text: str, message: str) -> None:
    with pytest.raises(
        FilterSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as info:
        parse_filter(text)
    assert "^" in str(info.value)


def test_order_by() -> None:
    assert parse_order_by(["metrics.auc DESC", "start_time", "attributes.end_time asc"]) == [
        OrderKey("metrics", "auc", True),
        OrderKey("attributes", "start_time", False),
        OrderKey("attributes", "end_time", False),
    ]
    with pytest.raises(FilterSyntaxError):
        parse_order_by(["metrics.auc sideways"])
    with pytest.raises(FilterSyntaxError):
        parse_order_by(["nope.x"])


_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_ .]{0,8}", fullmatch=True).filter(
    lambda k: "`" not in k
)
_strings = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda f: float(repr(f)))
_comparisons = st.one_of(
    st.builds(
        Comparison,
        st.just("metrics"),
        _keys,
        st.sampled_from(["=", "!=", "<", ">=", ">"]),
        _numbers,
    ),
    st.builds(
        Comparison,
        st.sampled_from(["params", "tags"]),
        _keys,
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        _strings,
    ),
    st.builds(
        Comparison,
        st.just("params"),
        _keys,
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(_strings, min_size=1, max_size=3).map(tuple),
    ),
)
_exprs = st.recursive(
    _comparisons,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(x for x in xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=6,
)


def _normalise(e):  # type: ignore[no-untyped-def]
    """Flatten nested same-kind nodes, which parse back flat."""
    if isinstance(e, And | Or):
        items = []
        for i in e.items:
            n = _normalise(i)
            items.extend(n.items if type(n) is type(e) else [n])
        return type(e)(tuple(items))
    return e


@given(_exprs)
def test_round_trip(expr) -> None:  # type: ignore[no-untyped-def]
    text = expr.to_text()
    assert parse_filter(text) == _normalise(expr)


@given(st.text(max_size=60))
def test_arbitrary_text_only_raises_filter_errors(text: str) -> None:
    try:
        parse_filter(text)
    except FilterSyntaxError:
        pass
