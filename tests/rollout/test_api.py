"""The SDK surface: deploy, manual control, history, bad input, both SQL backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import mainsail
from mainsail.core._errors import (
    EndpointNotFoundError,
    InvalidValueError,
    ModelNotFoundError,
    RolloutStateError,
)
from mainsail.rollout import RolloutSpec, get_strategy, parse_spec
from mainsail.store import _tables as t

from .conftest import make_frame


def _register(n: int) -> None:
    from sklearn.linear_model import LogisticRegression

    X = make_frame(100)
    model = LogisticRegression().fit(X, (X["f0"] > 0).astype(int))
    for _ in range(n):
        mainsail.register_model(model, name="churn", input_example=X.head())


def _lifecycle() -> None:
    _register(3)
    first = mainsail.deploy("churn", "models:/churn@latest")
    assert first.strategy == "direct" and first.state == "promoted"  # a new endpoint: direct
    assert mainsail.get_endpoint("churn").variants[0].version == 3
    mainsail.deploy("churn", "models:/churn/1", reason="pin v1", source="automation:retrain")
    r = mainsail.deploy("churn", "models:/churn/2", strategy="shadow", spec={"sample": 0.5})
    assert r.state == "progressing" and r.source == "sdk"
    assert [(v.name, v.role) for v in mainsail.get_endpoint("churn").variants] == [
        ("stable", "stable"),
        ("shadow", "shadow"),
    ]
    with pytest.raises(RolloutStateError, match="already has a shadow rollout"):
        mainsail.deploy("churn", "models:/churn/3", strategy="canary")
    promoted = mainsail.promote("churn")
    assert promoted.state == "promoted"
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [2]
    back = mainsail.rollback("churn")  # no active rollout: the previous settled revision
    assert back.state == "rolled_back"
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [1]
    ep = mainsail.get_endpoint("churn")
    assert [r.revision for r in ep.history] == [1, 2, 3, 4, 5] and ep.revision == 5
    assert ep.history[1].reason == "pin v1"
    rollouts = mainsail.list_rollouts("churn")
    assert [r.strategy for r in rollouts][-2:] == ["direct", "direct"]
    assert rollouts[-2].source == "automation:retrain"
    assert [e.name for e in mainsail.list_endpoints()] == ["churn"]


def test_lifecycle_on_sqlite(ctx) -> None:  # type: ignore[no-untyped-def]
    _lifecycle()


@pytest.mark.postgres
def test_lifecycle_on_postgres(pg_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mainsail.configure(home=str(tmp_path / "pg"), database_url=pg_url)
    _lifecycle()
    ctx = mainsail.get_context()
    with ctx.store.db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(t.endpoint_revisions)).scalar() == 5
        )


def test_ab_needs_an_explicit_winner(ctx) -> None:  # type: ignore[no-untyped-def]
    _register(2)
    mainsail.deploy("churn", "models:/churn/1")
    mainsail.deploy("churn", "models:/churn/2", strategy="ab", spec={"weights": [80, 20]})
    assert [(v.name, v.weight) for v in mainsail.get_endpoint("churn").variants] == [
        ("a", 80),
        ("b", 20),
    ]
    with pytest.raises(InvalidValueError, match="explicit winner"):
        mainsail.promote("churn")
    with pytest.raises(RolloutStateError, match="Valid arms are: a, b"):
        mainsail.declare_winner("churn", "c")
    assert mainsail.declare_winner("churn", "a").state == "promoted"
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [1]


def test_abort_returns_to_stable_without_an_alert(ctx) -> None:  # type: ignore[no-untyped-def]
    _register(2)
    mainsail.deploy("churn", "models:/churn/1")
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec={"steps": [30]})
    assert mainsail.abort("churn").state == "aborted"
    assert [(v.version, v.weight) for v in mainsail.get_endpoint("churn").variants] == [(1, 100)]
    with ctx.store.db.read() as conn:
        assert conn.execute(sa.select(t.alerts)).first() is None
    with pytest.raises(RolloutStateError, match="no active rollout"):
        mainsail.pause("churn")


def test_bad_input_gets_clear_errors(ctx) -> None:  # type: ignore[no-untyped-def]
    _register(1)
    with pytest.raises(ModelNotFoundError):
        mainsail.deploy("churn", "models:/nope/1")
    with pytest.raises(
        InvalidValueError, match="Valid strategies are: ab, blue_green, canary, direct, shadow"
    ):
        mainsail.deploy("churn", "models:/churn/1", strategy="linear")
    with pytest.raises(EndpointNotFoundError, match="No endpoint named 'x'"):
        mainsail.get_endpoint("x")
    mainsail.deploy("churn", "models:/churn/1")
    with pytest.raises(InvalidValueError, match="already the stable variant"):
        mainsail.deploy("churn", "models:/churn/1", strategy="canary")
    with pytest.raises(InvalidValueError, match="Valid fields are:.*step_weight"):
        mainsail.deploy("churn", "models:/churn/1", strategy="canary", spec={"stepWeight": 5})
    with pytest.raises(InvalidValueError, match="steps"):
        parse_spec({"steps": [50, 10]})
    with pytest.raises(RolloutStateError, match="first revision"):
        mainsail.rollback("churn")


@pytest.mark.parametrize("strategy", ["canary", "blue_green", "ab", "shadow"])
def test_a_progressive_deploy_to_a_new_endpoint_is_refused(ctx, strategy) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 item 5: no silent switch to a direct 100 % deploy; the message names choices."""
    _register(1)
    with pytest.raises(InvalidValueError) as err:
        mainsail.deploy("churn", "models:/churn/1", strategy=strategy)
    message = str(err.value)
    assert "does not exist yet" in message and "no stable version" in message
    assert "--strategy direct" in message and "blue_green" in message
    with pytest.raises(EndpointNotFoundError):  # nothing was written
        mainsail.get_endpoint("churn")
    assert mainsail.list_endpoints() == []


def test_spec_parsing_follows_flagger_names() -> None:
    spec = parse_spec(
        {
            "step-weight": 10,
            "max-weight": 50,
            "interval": 1,
            "webhooks": [{"name": "gate", "type": "confirm-promotion", "url": "http://x/y"}],
        }
    )
    assert spec.canary_weights() == [10, 20, 30, 40, 50]
    assert spec.confirm_promotion == "http://x/y"
    assert RolloutSpec(steps=[5, 25, 50, 100]).canary_weights() == [5, 25, 50, 100]
    assert get_strategy("Blue-Green").name == "blue_green"
