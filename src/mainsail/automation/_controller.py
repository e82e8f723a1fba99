"""The automation controller: evaluate triggers, apply the guards, follow work in flight.

Guards, in the order they apply:

1. **At most one retraining in flight per endpoint**: while a job or its rollout is
   unfinished, new firings of that automation (``in_flight``) and of every other automation
   of the same endpoint (``endpoint_in_flight``) are recorded as suppressed, so two
   automations never roll out on one endpoint at once.
2. **Cooldown**: no new retraining within ``cooldown`` of the last one.
3. **Loop guard**: evidence (alerts, monitor results) from before the endpoint's last
   automated rollout settled (``guard_until`` = rollout end + ``settle``, taken over by
   every automation of the endpoint) never triggers one, and the alert a rolled-back
   rollout raises is not a drift alert.
4. **Approval**: with ``require_approval`` a firing waits for ``mainsail automation approve``.

Every step lands in ``automation_events``: trigger → job → pipeline run → model version →
check result → rollout → outcome.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from mainsail.automation._spec import AutomationSpec, parse_spec
from mainsail.automation._trigger import Firing, merge_patch

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.automation")

RETRAIN_JOB = "automation.retrain"
_TERMINAL_ROLLOUT = ("promoted", "rolled_back", "aborted")


def blocked_reason(
    spec: AutomationSpec,
    row: dict[str, Any],
    state: dict[str, Any],
    now: int,
    busy: str | None = None,
) -> str | None:
    """Why a firing may not start a retraining now, or ``None``. ``busy`` names another
    automation of the endpoint with a retraining in flight."""
    if state.get("in_flight"):
        return "in_flight"
    if busy is not None:
        return "endpoint_in_flight"
    if state.get("awaiting_approval"):
        return "awaiting_approval"
    last = row.get("last_triggered_at")
    if last is not None and now - int(last) < spec.cooldown * 1000:
        return "cooldown"
    return None


def start_retraining(
    ctx: Context,
    row: dict[str, Any],
    spec: AutomationSpec,
    state: dict[str, Any],
    firing: dict[str, Any],
    now: int,
) -> int:
    """Enqueue the retraining job and mark it in flight (the caller persists ``state``)."""
    import mainsail.jobs as jobs

    job_id = jobs.enqueue(
        ctx,
        RETRAIN_JOB,
        {"automation": spec.name, "trigger": firing},
        queue=spec.queue,
        dedupe_key=f"automation:{spec.name}",
        max_attempts=spec.max_attempts,
    )
    state["in_flight"] = {"job_id": job_id, "since": now, "trigger": firing}
    ctx.database().add_audit_event(
        f"automation:{spec.name}",
        "automations.trigger",
        f"automations/{spec.name}",
        after={"job": job_id, "trigger": firing.get("summary")},
    )
    state["awaiting_approval"] = None
    ctx.database().add_automation_event(
        row["id"],
        firing["type"],
        "triggered",
        {"summary": firing.get("summary"), "key": firing.get("key")},
        ts=now,
        job_id=job_id,
    )
    return job_id


class AutomationController:
    """Runs every enabled automation once per tick, in the leader process.

    Examples
    --------
    >>> from mainsail.controllers import ControllerManager
    >>> ControllerManager(names=["automations"]).start()  # doctest: +SKIP
    """

    name = "automations"

    def __init__(self, ctx: Context, interval_s: float = 1.0) -> None:
        self.ctx = ctx
        self.interval_s = interval_s

    def tick(self, now_ms_: int) -> None:
        # The scheduler's housekeeping: jobs whose worker died are re-queued or failed, so
        # nothing an automation waits for stays stuck.
        import mainsail.jobs as jobs

        jobs.reap_stale_jobs(self.ctx)
        # The controller is the only writer of an automation's state; the SDK and CLI ask
        # for a manual run or an approval by appending a "requested" event.
        for row in self.ctx.database().list_automation_rows(enabled_only=True):
            # A deep copy: trigger marks patch nested dicts, and the change must show.
            state = copy.deepcopy(row["state"] or {})
            try:
                self._one(row, state, now_ms_)
            except Exception:  # noqa: BLE001 - one broken automation must not stop the rest
                log.exception("automation %s: tick failed", row["name"])
            if state != (row["state"] or {}):
                self.ctx.database().update_automation(row["id"], state=state)

    def _neighbours(self, row: dict[str, Any], state: dict[str, Any]) -> str | None:
        """The other automations of the endpoint, as they are stored now: the name of one
        with a retraining in flight, or ``None``; takes over their later loop guard."""
        busy = None
        for other in self.ctx.database().list_automation_rows():
            if other["id"] == row["id"] or other["endpoint"] != row["endpoint"]:
                continue
            theirs = other["state"] or {}
            if theirs.get("in_flight") and busy is None:
                busy = str(other["name"])
            guard = int(theirs.get("guard_until") or 0)
            if guard > int(state.get("guard_until") or 0):
                state["guard_until"] = guard
        return busy

    # -- one automation ----------------------------------------------------------------------
    def _one(self, row: dict[str, Any], state: dict[str, Any], now: int) -> None:
        spec = parse_spec(row["spec"])
        self._follow_up(row, spec, state, now)
        busy = self._neighbours(row, state)
        if self._requests(row, spec, state, now, busy):
            return
        for index, trig in enumerate(spec.triggers):
            firing: Firing | None = trig.evaluate(self.ctx, row, state, now, index)
            if firing is None:
                continue
            merge_patch(state, firing.mark)
            if not firing.key:
                continue
            reason = blocked_reason(spec, row, state, now, busy)
            if reason is not None:
                suppressed = state.setdefault("suppressed", {})
                if suppressed.get(reason) != firing.key:
                    suppressed[reason] = firing.key
                    detail: dict[str, Any] = {
                        "reason": reason,
                        "summary": firing.summary,
                        "key": firing.key,
                    }
                    if reason == "endpoint_in_flight":
                        detail["automation"] = busy
                    self.ctx.database().add_automation_event(
                        row["id"], firing.type, "suppressed", detail, ts=now
                    )
                continue
            merge_patch(state, firing.on_fire)
            if spec.require_approval:
                state["awaiting_approval"] = firing.to_dict()
                self.ctx.database().add_automation_event(
                    row["id"],
                    firing.type,
                    "awaiting_approval",
                    {"summary": firing.summary, "key": firing.key},
                    ts=now,
                )
                break
            start_retraining(self.ctx, row, spec, state, firing.to_dict(), now)
            row["last_triggered_at"] = now
            self.ctx.database().update_automation(row["id"], last_triggered_at=now)
            break

    def _requests(
        self,
        row: dict[str, Any],
        spec: AutomationSpec,
        state: dict[str, Any],
        now: int,
        busy: str | None = None,
    ) -> bool:
        """Act on manual runs and approvals asked for since the last tick."""
        store = self.ctx.database()
        started = False
        after = int(state.get("requests_seen") or 0)
        for ev in store.automation_events(row["id"], after_id=after, status="requested"):
            state["requests_seen"] = ev["id"]
            kind = ev["trigger"]
            if state.get("in_flight") or started or busy is not None:
                detail: dict[str, Any] = {"reason": "in_flight", "request": ev["id"]}
                if busy is not None and not (state.get("in_flight") or started):
                    detail.update(reason="endpoint_in_flight", automation=busy)
                store.add_automation_event(row["id"], kind, "suppressed", detail, ts=now)
                continue
            if kind == "approval":
                firing = state.get("awaiting_approval")
                if not firing:
                    store.add_automation_event(
                        row["id"], kind, "ignored", {"reason": "nothing awaits approval"}, ts=now
                    )
                    continue
                firing = {**firing, "approved_by": ev["detail"].get("actor")}
            else:
                firing = {
                    "type": "manual",
                    "key": f"request:{ev['id']}",
                    "summary": ev["detail"].get("reason") or "manual run",
                }
            start_retraining(self.ctx, row, spec, state, firing, now)
            row["last_triggered_at"] = now
            store.update_automation(row["id"], last_triggered_at=now)
            started = True
        return started

    def _follow_up(
        self, row: dict[str, Any], spec: AutomationSpec, state: dict[str, Any], now: int
    ) -> None:
        """Move work in flight along: job finished → rollout watched → outcome recorded."""
        import mainsail.jobs as jobs

        flight = state.get("in_flight")
        if not flight:
            return
        trig = (flight.get("trigger") or {}).get("type", "manual")
        job = jobs.get_job(self.ctx, int(flight["job_id"]))
        if job.status in ("queued", "running"):
            return
        event = self.ctx.database().add_automation_event
        if job.status != "done":
            recorded = any(  # the retraining job already recorded why (with its links)
                e["status"] == "failed" and e["job_id"] == job.id
                for e in self.ctx.database().automation_events(row["id"], limit=1000)
            )
            if not recorded:
                event(row["id"], trig, "failed", {"error": job.error}, ts=now, job_id=job.id)
            state["in_flight"] = None
            state["last_outcome"] = "failed"
            return
        result = job.result or {}
        if result.get("status") != "deployed":
            state["in_flight"] = None
            state["last_outcome"] = result.get("status", "unknown")
            return
        from mainsail.registry._registry import set_alias
        from mainsail.rollout._api import get_rollout

        rollout = get_rollout(self.ctx, spec.endpoint, id=int(result["rollout_id"]))
        if rollout is None or rollout.state not in _TERMINAL_ROLLOUT:
            return
        version = result.get("model_version")
        if rollout.state == "promoted" and spec.promote_alias and version is not None:
            set_alias(self.ctx, spec.model, spec.promote_alias, int(version))
            self.ctx.database().add_audit_event(
                f"automation:{spec.name}",
                "models.set_alias",
                f"models/{spec.model}@{spec.promote_alias}",
                after={"version": int(version)},
            )
        event(
            row["id"],
            trig,
            rollout.state,
            {
                "message": rollout.message,
                "alias": spec.promote_alias if rollout.state == "promoted" else None,
            },
            ts=now,
            job_id=job.id,
            rollout_id=rollout.id,
            model_version=int(version) if version is not None else None,
            pipeline_run_id=result.get("pipeline_run_id"),
            check_result_id=result.get("check_result_id"),
        )
        state["in_flight"] = None
        state["last_outcome"] = rollout.state
        state["guard_until"] = now + int(spec.settle * 1000)
