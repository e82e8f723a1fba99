"""A third-party strategy from a module outside ``src/`` (tests/thirdparty/acme_delivery.py),
registered by its ``"module:attr"`` and deployed, analysed and promoted end to end by the real
rollout controller in an elected leader, without editing the core."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import mainsail
from mainsail.controllers import ControllerManager
from mainsail.rollout import STRATEGIES, register_strategy

from .test_controller import traffic

THIRDPARTY = Path(__file__).resolve().parents[1] / "thirdparty"


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_strategy("acme_delivery:STAGED", name="staged")
    yield
    STRATEGIES.unregister("staged")


def test_a_staged_strategy_is_deployed_and_promoted_by_the_controller(
    staged: None, two_versions: None, ctx: Any
) -> None:
    spec = {"interval": 0.3, "min_requests": 5, "max_p99_ms": 100, "threshold": 2}
    r = mainsail.deploy("churn", "models:/churn/2", strategy="staged", spec=spec)
    assert (r.strategy, r.state, r.step, r.weight) == ("staged", "progressing", 0, 50)
    assert [(v.name, v.role, v.weight) for v in mainsail.get_endpoint("churn").variants] == [
        ("stable", "stable", 50),
        ("staged", "staged", 50),
    ]
    manager = ControllerManager(ctx, names=["rollouts"], poll_s=0.05).start()
    try:
        deadline = time.monotonic() + 40
        while (done := mainsail.get_rollout("churn")) is not None and done.state != "promoted":
            assert done.state == "progressing" and time.monotonic() < deadline, done
            traffic(ctx, "staged", "2")  # each stage's own traffic passes its analysis
            time.sleep(0.1)
    finally:
        manager.stop()
    assert done is not None
    assert [a["weight"] for a in done.analysis if a["outcome"] != "hold"] == [50, 100]
    assert {c["name"] for c in done.analysis[-1]["checks"]} == {"success_rate", "p99_latency_ms"}
    ep = mainsail.get_endpoint("churn")
    assert [(v.version, v.role) for v in ep.variants] == [(2, "stable")]
    stages = [r.variant("staged") for r in ep.history]
    assert [s.weight for s in stages if s is not None] == [50, 100]
