"""The automation controller's guards and outcomes, with a real job worker and real checks.

Alerts are inserted as the monitoring controller writes them (the monitor itself is
tested in tests/monitoring); everything after the alert is the real thing: the job queue,
the pipeline, registration, release checks and the rollout.
"""

from __future__ import annotations

from typing import Any

import pytest

import mainsail
import mainsail.jobs as jobs
from mainsail.automation import AutomationController
from mainsail.core._ids import now_ms

from .conftest import POLICY


def _automation(**overrides: Any) -> Any:
    spec = {
        "name": "retrain",
        "endpoint": "churn",
        "model": "churn",
        "pipeline": "auto_flows:retrain",
        "triggers": [{"type": "drift_alert"}],
        "checks": {"policy": POLICY},
        "rollout": {"strategy": "direct"},
        "cooldown": "1h",
        "max_attempts": 1,
    }
    spec.update(overrides)
    return mainsail.create_automation(spec)


def _fire_alert(ctx: Any, when: int | None = None) -> None:
    """Insert or re-evaluate the drift alert, as the monitor does on each run."""
    ts = when or now_ms()
    row = ctx.store.open_alert_row("drift:churn")
    if row is None:
        ctx.store.insert_alert(
            {
                "fingerprint": "drift:churn",
                "rule": "drift",
                "endpoint": "churn",
                "severity": "warning",
                "state": "firing",
                "value": 1.0,
                "evidence": {"features": [{"column": "usage_hours"}]},
                "count": 1,
                "first_seen_at": ts,
                "fired_at": ts,
                "updated_at": ts,
            }
        )
    else:
        ctx.store.update_alert(row["id"], updated_at=ts, count=row["count"] + 1)


def _cycle(ctx: Any, controller: AutomationController, step_ms: int = 1000) -> None:
    """One controller tick, then let the worker run whatever was queued."""
    controller.tick(now_ms())
    jobs.Worker(mainsail.get_context(), poll_s=0.05).run(until_idle=True)
    controller.tick(now_ms())


def _statuses(name: str = "retrain") -> list[str]:
    return [e.status for e in mainsail.automation_trail(name)]


def test_drift_alert_leads_to_a_promoted_version_with_lineage(world: Any) -> None:
    _automation()
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    trail = mainsail.automation_trail("retrain")
    assert [e.status for e in trail] == [
        "triggered",
        "pipeline_started",
        "registered",
        "checked",
        "rollout_started",
        "promoted",
    ]
    done = trail[-1]
    assert done.job_id and done.pipeline_run_id and done.check_result_id and done.rollout_id
    mv = mainsail.get_model_version(f"models:/churn/{done.model_version}")
    assert mv.version == 2
    run = mainsail.get_pipeline_run(done.pipeline_run_id)
    assert mv.run_id == run.run_id  # version → the pipeline's tracking run
    assert mainsail.get_model_version("models:/churn@champion").version == 2
    endpoint = mainsail.get_endpoint("churn")
    assert [v.version for v in endpoint.variants] == [2]
    assert mainsail.get_rollout("churn").source == "automation:retrain"
    check = mainsail.latest_check(mv.address)
    assert check is not None and check.blessed and check.id == done.check_result_id
    assert mainsail.get_automation("retrain").in_flight is None


def test_a_bad_retrained_model_is_rejected_and_nothing_is_deployed(world: Any) -> None:
    _automation(params={"shuffle_labels": True})
    controller = AutomationController(world)
    before = mainsail.get_endpoint("churn")
    _fire_alert(world)
    _cycle(world, controller)
    statuses = _statuses()
    assert statuses[-2:] == ["checked", "rejected"], statuses
    assert "rollout_started" not in statuses
    after = mainsail.get_endpoint("churn")
    assert after.revision == before.revision
    assert [v.version for v in after.variants] == [1]
    assert mainsail.get_model_version("models:/churn@champion").version == 1
    rejected = mainsail.latest_check("models:/churn/2")
    assert rejected is not None and not rejected.blessed
    assert mainsail.get_automation("retrain").state["last_outcome"] == "rejected"


def test_the_cooldown_prevents_a_retraining_storm(world: Any) -> None:
    _automation(params={"shuffle_labels": True})  # rejected quickly; the alert stays
    controller = AutomationController(world)
    for i in range(6):  # the monitor re-evaluates the still-firing alert six times
        _fire_alert(world, now_ms() + i)
        _cycle(world, controller)
    assert len(mainsail.list_jobs()) == 1
    statuses = _statuses()
    assert statuses.count("triggered") == 1
    assert statuses.count("suppressed") >= 1
    suppressed = [e for e in mainsail.automation_trail("retrain") if e.status == "suppressed"]
    assert {e.detail["reason"] for e in suppressed} == {"cooldown"}


def test_one_retraining_in_flight(world: Any) -> None:
    _automation(cooldown=0)
    controller = AutomationController(world)
    _fire_alert(world)
    controller.tick(now_ms())  # queued, no worker yet
    _fire_alert(world, now_ms() + 5)
    controller.tick(now_ms())
    mainsail.trigger_automation("retrain", reason="impatient human")
    controller.tick(now_ms())
    assert len(mainsail.list_jobs()) == 1
    reasons = [
        e.detail.get("reason")
        for e in mainsail.automation_trail("retrain")
        if e.status == "suppressed"
    ]
    assert reasons == ["in_flight", "in_flight"]


def test_loop_guard_ignores_evidence_from_before_its_own_rollout(world: Any) -> None:
    _automation(cooldown=0, settle="10m")
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    assert _statuses()[-1] == "promoted"
    # The alert is still "firing" from evaluations of the old version, and one more
    # evaluation lands inside the settle window: neither may trigger a second retraining.
    _fire_alert(world, now_ms() + 1000)
    _cycle(world, controller)
    assert len(mainsail.list_jobs()) == 1
    state = mainsail.get_automation("retrain").state
    assert state["guard_until"] > now_ms()


def test_manual_approval(world: Any) -> None:
    _automation(require_approval=True)
    controller = AutomationController(world)
    _fire_alert(world)
    controller.tick(now_ms())
    assert _statuses() == ["awaiting_approval"]
    assert mainsail.list_jobs() == []
    mainsail.approve_automation("retrain", actor="alice")
    _cycle(world, controller)
    statuses = _statuses()
    assert statuses[:3] == ["awaiting_approval", "requested", "triggered"]
    assert statuses[-1] == "promoted"


def test_a_failing_pipeline_is_recorded_and_clears_the_flight(world: Any) -> None:
    _automation(pipeline="auto_flows:broken")
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    trail = mainsail.automation_trail("retrain")
    assert trail[-1].status == "failed"
    assert "on fire" in (trail[-1].detail.get("error") or str(trail[-1].detail))
    assert mainsail.get_automation("retrain").in_flight is None


def test_unknown_automation_is_a_clear_error(world: Any) -> None:
    with pytest.raises(mainsail.MainsailError, match="Known automations"):
        mainsail.get_automation("nope")


def test_a_retried_job_does_not_register_or_deploy_twice(world: Any) -> None:
    from mainsail.automation._retrain import handle

    _automation()
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    job = mainsail.get_job(mainsail.automation_trail("retrain")[0].job_id)
    again = handle(
        mainsail.get_context(), job.payload, job
    )  # as if the worker died after deploying
    assert again["status"] == "deployed"
    assert again["rollout_id"] == job.result["rollout_id"]
    assert [v.version for v in mainsail.list_model_versions("churn")] == [1, 2]


def test_the_automation_leaves_audit_events(world: Any) -> None:
    _automation()
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    events = world.store.list_audit_events()
    actions = {(e.actor, e.action) for e in events}
    assert {
        ("automation:retrain", "automations.trigger"),
        ("automation:retrain", "models.register"),
        ("automation:retrain", "rollouts.start"),
        ("automation:retrain", "models.set_alias"),
    } <= actions


def test_a_failed_pipeline_fails_its_job_with_the_cause(world: Any, cli: Any) -> None:
    """The job is failed (not done) with the pipeline's error, and the trail shows it once."""
    _automation(pipeline="auto_flows:broken")
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    trail = mainsail.automation_trail("retrain")
    failed = [e for e in trail if e.status == "failed"]
    assert len(failed) == 1, [e.status for e in trail]
    assert "on fire" in str(failed[0].detail.get("error"))
    job = mainsail.get_job(failed[0].job_id)
    assert job.status == "failed" and job.attempts == 1, job
    assert "Retraining failed" in (job.error or "") and "on fire" in (job.error or "")
    assert mainsail.get_automation("retrain").in_flight is None
    code, out, _ = cli("automation", "show", "retrain")
    assert code == 0 and "cluster is on" in out  # the trail shows the cause


def test_one_retraining_in_flight_per_endpoint(world: Any) -> None:
    """Two automations of one endpoint: while one retrains (its canary not finished), the
    other's firings and manual runs are suppressed, so two rollouts never race."""
    canary = {"strategy": "canary", "spec": {"steps": [10, 50, 100], "interval": 60}}
    _automation(cooldown=0, rollout=canary)
    _automation(name="retrain-b", cooldown=0, rollout=canary)
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)  # the first retrains and starts its canary, which is in progress
    assert len(mainsail.list_jobs()) == 1
    assert mainsail.get_rollout("churn").state not in ("promoted", "rolled_back", "aborted")
    _fire_alert(world, now_ms() + 5)
    mainsail.trigger_automation("retrain-b", reason="impatient human")
    _cycle(world, controller)
    assert len(mainsail.list_jobs()) == 1
    trails = {n: mainsail.automation_trail(n) for n in ("retrain", "retrain-b")}
    busy = [e for e in trails["retrain-b"] if e.status == "suppressed"]
    assert busy and {e.detail["reason"] for e in busy} == {"endpoint_in_flight"}
    assert all(e.detail.get("automation") == "retrain" for e in busy)
    assert "triggered" not in [e.status for e in trails["retrain-b"]]


def test_the_automation_after_a_canary_rollback(world: Any) -> None:
    """The canary of a retrained version is rolled back: nothing is promoted, the flight
    clears, the rollback alert and older evidence trigger nobody, new evidence does."""
    from mainsail.rollout._alerts import raise_rollout_alert

    canary = {"strategy": "canary", "spec": {"steps": [10, 50, 100], "interval": 60}}
    _automation(cooldown=0, settle="10m", rollout=canary)
    _automation(name="retrain-b", cooldown=0, rollout=canary)
    controller = AutomationController(world)
    _fire_alert(world)
    _cycle(world, controller)
    rollout = mainsail.get_rollout("churn")
    assert rollout.source == "automation:retrain" and rollout.state == "progressing"
    mainsail.rollback("churn")
    raise_rollout_alert(world, "churn", {"reason": "canary errors"}, value=1.0)
    _cycle(world, controller)
    trail = mainsail.automation_trail("retrain")
    assert trail[-1].status == "rolled_back" and trail[-1].rollout_id == rollout.id
    automation = mainsail.get_automation("retrain")
    assert automation.in_flight is None and automation.state["last_outcome"] == "rolled_back"
    assert mainsail.get_model_version("models:/churn@champion").version == 1  # not promoted
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [1]
    # the drift alert from before the rollout settled, and the rollback alert, trigger nobody
    # (the other automation of the endpoint included)
    _fire_alert(world, automation.state["guard_until"] - 1000)
    _cycle(world, controller)
    assert len(mainsail.list_jobs()) == 1
    # fresh evidence after the settle window does
    _fire_alert(world, automation.state["guard_until"] + 1000)
    _cycle(world, controller)
    assert len(mainsail.list_jobs()) == 2


def test_a_retraining_the_controller_did_not_start_is_refused(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued past the controller (its guards, approval, cooldown), the job does nothing."""
    import mainsail.automation._retrain as retrain

    monkeypatch.setattr(retrain, "_TRIGGER_WAIT_S", 0.3)
    _automation()
    job_id = jobs.enqueue(world, "automation.retrain", {"automation": "retrain"}, max_attempts=1)
    jobs.Worker(mainsail.get_context(), poll_s=0.05).run(until_idle=True)
    job = mainsail.get_job(job_id)
    assert job.status == "failed"
    assert "the automation controller did not start it" in (job.error or "")
    assert [v.version for v in mainsail.list_model_versions("churn")] == [1]
    assert _statuses() == []
