"""The delivery service contract: the local implementation (embedded) and the remote one
(against a live server) behind one protocol, giving the same objects and the same errors."""

from __future__ import annotations

import pytest

import mainsail
from mainsail.core._errors import EndpointNotFoundError, RolloutStateError
from mainsail.rollout import DELIVERY, DeliveryService, Endpoint, RolloutSpec
from mainsail.rollout._local import LocalDelivery
from mainsail.rollout._remote import RemoteDelivery

from .test_delivery import _register


def test_the_context_picks_the_implementation_once(sdk_mode: str) -> None:
    ctx = mainsail.get_context()
    service = ctx.service(DELIVERY)
    assert isinstance(service, DeliveryService)
    assert type(service) is (RemoteDelivery if sdk_mode == "remote" else LocalDelivery)
    assert ctx.service(DELIVERY) is service


def test_both_implementations_answer_alike(sdk_mode: str, unique: str) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 2)
    svc = mainsail.get_context().service(DELIVERY)
    first = svc.deploy(ep, f"models:/{m}/1", "direct", RolloutSpec(), "test", "first", "ana")
    assert (first.strategy, first.state, first.to_revision) == ("direct", "promoted", 1)
    spec = RolloutSpec(steps=[20, 60], interval=30)
    canary = svc.deploy(ep, f"models:/{m}/2", "canary", spec, "test", None, "ana")
    assert (canary.state, canary.weight, canary.spec["spec"]) == (
        "progressing",
        20,
        {"steps": [20.0, 60.0], "interval": 30.0},
    )
    assert svc.get_rollout(ep, None) == canary
    assert svc.get_rollout(ep, first.id) == first
    assert svc.list_rollouts(ep, 10) == [canary, first]
    assert svc.pause(ep).state == "paused"
    assert svc.resume(ep).state == "progressing"
    promoted = svc.promote(ep, "ana")
    assert promoted.state == "promoted" and promoted.id == canary.id
    endpoint = svc.get_endpoint(ep)
    assert isinstance(endpoint, Endpoint) and [v.version for v in endpoint.variants] == [2]
    assert ep in {e.name for e in svc.list_endpoints()}
    back = svc.rollback(ep, "ana")
    assert back.state == "rolled_back" and svc.get_endpoint(ep).variants[0].version == 1
    with pytest.raises(RolloutStateError, match="has no active rollout"):
        svc.abort(ep, "ana")
    svc.deploy(ep, f"models:/{m}/2", "canary", spec, "test", None, "ana")
    with pytest.raises(RolloutStateError, match="has no arms"):
        svc.declare_winner(ep, "a", "ana")
    with pytest.raises(EndpointNotFoundError, match=f"No endpoint named 'nope-{unique}'"):
        svc.get_endpoint(f"nope-{unique}")


def test_the_actor_is_the_caller_here_and_the_authenticated_user_on_a_server(
    sdk_mode: str, unique: str
) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m, 2)
    mainsail.deploy(ep, f"models:/{m}/1", actor="ana")
    mainsail.deploy(ep, f"models:/{m}/2", strategy="canary", actor="ana")
    mainsail.abort(ep, actor="bo")
    history = mainsail.get_endpoint(ep).history
    created_by = [h.created_by for h in history]
    if sdk_mode == "embedded":
        assert created_by == ["ana", "rollout-controller", "bo"]
    else:  # the server records who its token belongs to, whatever the client says
        assert created_by[1] == "rollout-controller"
        assert created_by[0] == created_by[2] and created_by[0] not in (None, "ana", "bo")
    from mainsail.core import InvalidValueError

    with pytest.raises(InvalidValueError, match="actor must be a non-empty name"):
        mainsail.promote(ep, actor="")
