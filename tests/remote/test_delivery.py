"""Progressive delivery through the SDK and the CLI: the same calls, results and errors
embedded and against a live server (``sdk_mode``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core._errors import (
    EndpointNotFoundError,
    InvalidAddressError,
    InvalidValueError,
    ModelNotFoundError,
    RolloutStateError,
)
from mainsail.rollout import ABReport, Endpoint, Rollout, ShadowReport
from mainsail.serving._variant_stats import VariantStats

Cli = Callable[..., tuple[int, str, str]]


def _register(model_name: str, n: int) -> None:
    """``n`` versions of one small model (registration goes through the server remotely)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["f0", "f1", "f2"])
    model = LogisticRegression().fit(X, (X["f0"] > 0).astype(int))
    for _ in range(n):
        mainsail.register_model(model, name=model_name, input_example=X.head())


@pytest.fixture
def plane_store(sdk_mode: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The store a data-plane replica writes serving stats to: the server's in remote mode."""
    if sdk_mode == "embedded":
        yield mainsail.get_context().store
        return
    from mainsail.client._context import build_context
    from mainsail.core._settings import Settings

    srv, _ = request.getfixturevalue("live_server")
    ctx = build_context(Settings(home=srv.home, tracking_uri=None))
    yield ctx.store
    ctx.close()


def _traffic(store: Any, endpoint: str, variant: str, version: int, ok: int, errors: int) -> None:
    """Serving stats as a data-plane replica flushes them (one window, now)."""
    stats = VariantStats(endpoint, store.write_serving_stats, window_s=60, replica=variant)
    for i in range(ok + errors):
        status = 200 if i < ok else 500
        stats.record(variant, str(version), status, 5.0 + i % 4, np.array([i % 2]))
    stats.flush()


def test_lifecycle_is_the_same_in_both_modes(sdk_mode: str, unique: str) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 3)
    with pytest.raises(InvalidValueError, match="does not exist yet.*--strategy direct"):
        mainsail.deploy(ep, f"models:/{m}@latest", strategy="canary")  # no silent direct
    first = mainsail.deploy(ep, f"models:/{m}@latest")
    assert isinstance(first, Rollout)
    assert (first.strategy, first.state, first.endpoint) == ("direct", "promoted", ep)
    assert mainsail.get_endpoint(ep).variants[0].version == 3
    mainsail.deploy(ep, f"models:/{m}/1", reason="pin v1")
    r = mainsail.deploy(ep, f"models:/{m}/2", strategy="shadow", spec={"sample": 0.5})
    assert (r.state, r.spec["spec"]) == ("progressing", {"sample": 0.5})
    assert [(v.name, v.role) for v in mainsail.get_endpoint(ep).variants] == [
        ("stable", "stable"),
        ("shadow", "shadow"),
    ]
    with pytest.raises(RolloutStateError, match="already has a shadow rollout"):
        mainsail.deploy(ep, f"models:/{m}/3", strategy="canary")
    assert mainsail.promote(ep).state == "promoted"
    assert [v.version for v in mainsail.get_endpoint(ep).variants] == [2]
    back = mainsail.rollback(ep)  # no active rollout: the previous settled revision
    assert back.state == "rolled_back"
    ep_now = mainsail.get_endpoint(ep)
    assert isinstance(ep_now, Endpoint)
    assert [v.version for v in ep_now.variants] == [1]
    assert [h.revision for h in ep_now.history] == [1, 2, 3, 4, 5] and ep_now.revision == 5
    assert ep_now.history[1].reason == "pin v1"
    rollouts = mainsail.list_rollouts(ep)
    assert [x.strategy for x in rollouts] == ["direct", "shadow", "direct", "direct"]
    assert [x.id for x in mainsail.list_rollouts(ep, limit=2)] == [x.id for x in rollouts[:2]]
    assert mainsail.get_rollout(ep) == rollouts[0] == back
    assert mainsail.get_rollout(ep, rollouts[1].id) == rollouts[1]
    assert mainsail.get_rollout(ep, rollouts[0].id + 10_000) is None
    assert mainsail.get_rollout(ep, 0) is None
    everywhere = mainsail.list_rollouts(limit=1000)
    assert {x.id for x in rollouts} <= {x.id for x in everywhere}
    listed = {e.name: e for e in mainsail.list_endpoints()}
    assert [v.version for v in listed[ep].variants] == [1] and listed[ep].history == []


def test_steering_canary_and_ab(sdk_mode: str, unique: str) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 2)
    mainsail.deploy(ep, f"models:/{m}/1")
    r = mainsail.deploy(ep, f"models:/{m}/2", strategy="canary", spec={"steps": [30, 60]})
    assert (r.state, r.weight) == ("progressing", 30)
    assert mainsail.pause(ep).state == "paused"
    assert mainsail.pause(ep).state == "paused"  # pausing twice is harmless
    assert mainsail.resume(ep).state == "progressing"
    assert mainsail.abort(ep).state == "aborted"
    assert [(v.version, v.weight) for v in mainsail.get_endpoint(ep).variants] == [(1, 100)]
    with pytest.raises(RolloutStateError, match="no active rollout"):
        mainsail.resume(ep)
    mainsail.deploy(ep, f"models:/{m}/2", strategy="ab", spec={"weights": [80, 20]})
    assert [(v.name, v.weight) for v in mainsail.get_endpoint(ep).variants] == [
        ("a", 80),
        ("b", 20),
    ]
    with pytest.raises(InvalidValueError, match="explicit winner"):
        mainsail.promote(ep)
    with pytest.raises(RolloutStateError, match="Valid arms are: a, b"):
        mainsail.declare_winner(ep, "c")
    won = mainsail.declare_winner(ep, "b")
    assert won.state == "promoted"
    assert [v.version for v in mainsail.get_endpoint(ep).variants] == [2]


def test_ab_and_shadow_reports_read_the_fleet_stats(
    sdk_mode: str, unique: str, plane_store: Any
) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 2)
    mainsail.deploy(ep, f"models:/{m}/1")
    with pytest.raises(RolloutStateError, match="has had no ab rollout"):
        mainsail.ab_report(ep)
    mainsail.deploy(ep, f"models:/{m}/2", strategy="ab")
    time.sleep(0.01)  # the stats window starts after the rollout was created
    _traffic(plane_store, ep, "a", 1, ok=40, errors=0)
    _traffic(plane_store, ep, "b", 2, ok=30, errors=10)
    rep = mainsail.ab_report(ep, alpha=0.01)
    assert isinstance(rep, ABReport)
    assert (rep.requests, rep.alpha) == ({"a": 40, "b": 40}, 0.01)
    rate = next(c for c in rep.comparisons if c.metric == "success_rate")
    assert (rate.a, rate.b, rate.n_a, rate.n_b) == (1.0, 0.75, 40, 40)
    assert rate.difference == pytest.approx(-0.25) and rate.significant
    assert rate.p_value is not None and rate.p_value < 0.01
    assert mainsail.ab_report(ep, mde=0.1).comparisons[0].min_sample_size is not None
    assert {c.metric for c in rep.comparisons} == {"success_rate", "accuracy", "latency_ms"}
    mainsail.declare_winner(ep, "a")

    mainsail.deploy(ep, f"models:/{m}/2", strategy="shadow")  # a is stable again
    time.sleep(0.01)
    _traffic(plane_store, ep, "stable", 1, ok=20, errors=0)
    stats = VariantStats(ep, plane_store.write_serving_stats, window_s=60, replica="shadow")
    for i in range(20):
        same = np.array([i % 2])
        stats.record_shadow("shadow", "2", 7.0, same if i < 15 else 1 - same, same)
    stats.flush()
    srep = mainsail.shadow_report(ep)
    assert isinstance(srep, ShadowReport)
    assert (srep.stable, srep.shadow) == (f"models:/{m}/1", f"models:/{m}/2")
    assert (srep.compared, srep.agreement, srep.shadow_errors) == (20, 0.75, 0)
    assert srep.shadow_p50_ms == pytest.approx(7.0)


def test_bad_input_gets_the_same_errors(sdk_mode: str, unique: str) -> None:
    m, ep, nope = f"churn-{unique}", f"ep-{unique}", f"nope-{unique}"
    _register(m, 1)
    with pytest.raises(ModelNotFoundError):
        mainsail.deploy(ep, f"models:/{nope}/1")
    with pytest.raises(
        InvalidValueError, match="Valid strategies are: ab, blue_green, canary, direct, shadow"
    ):
        mainsail.deploy(ep, f"models:/{m}/1", strategy="linear")
    with pytest.raises(InvalidAddressError, match="Endpoint name must start with"):
        mainsail.deploy("bad name/x", f"models:/{m}/1")
    with pytest.raises(InvalidValueError, match="Valid fields are:.*step_weight"):
        mainsail.deploy(ep, f"models:/{m}/1", strategy="canary", spec={"stepWeight": 5})
    for call in (
        lambda: mainsail.get_endpoint(nope),
        lambda: mainsail.get_rollout(nope),
        lambda: mainsail.get_rollout(nope, 1),
        lambda: mainsail.list_rollouts(nope),
        lambda: mainsail.promote(nope),
        lambda: mainsail.pause(nope),
        lambda: mainsail.rollback(nope),
        lambda: mainsail.declare_winner(nope, "a"),
        lambda: mainsail.ab_report(nope),
        lambda: mainsail.shadow_report(nope),
    ):
        with pytest.raises(EndpointNotFoundError, match=f"No endpoint named '{nope}'"):
            call()
    mainsail.deploy(ep, f"models:/{m}/1")
    with pytest.raises(InvalidValueError, match="already the stable variant"):
        mainsail.deploy(ep, f"models:/{m}/1", strategy="canary")
    with pytest.raises(RolloutStateError, match="first revision"):
        mainsail.rollback(ep)
    with pytest.raises(RolloutStateError, match="has had no shadow rollout"):
        mainsail.shadow_report(ep)
    with pytest.raises(InvalidValueError, match="alpha must be between 0 and 1"):
        mainsail.ab_report(ep, alpha=1.5)
    with pytest.raises(InvalidValueError, match="mde"):
        mainsail.ab_report(ep, mde=-1)
    with pytest.raises(InvalidValueError, match="limit must be a whole number from 1 to 1000"):
        mainsail.list_rollouts(ep, limit=0)


def test_cli_deploys_and_steers(sdk_mode: str, unique: str, cli: Cli) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 2)
    code, out, err = cli("deploy", ep, f"models:/{m}/1", "--json")
    assert code == 0, err
    code, out, err = cli("deploy", ep, f"models:/{m}/2", "--strategy", "canary", "--steps", "25")
    assert code == 0 and "canary rollout" in out and "progressing" in out, out + err
    code, out, err = cli("rollout", "status", ep, "--json")
    assert code == 0 and '"weight": 25.0' in out and '"strategy": "canary"' in out, out + err
    code, out, err = cli("rollout", "pause", ep)
    assert code == 0 and "paused" in out, out + err
    code, out, err = cli("rollout", "abort", ep)
    assert code == 0 and "aborted" in out, out + err
    code, out, err = cli("endpoints", "history", ep, "--json")
    assert code == 0 and out.count('"revision"') == 3, out + err
    code, out, err = cli("rollout", "promote", f"nope-{unique}")
    assert code != 0 and f"No endpoint named 'nope-{unique}'" in out + err
    assert "Traceback" not in out + err
