"""The rollout state machine, persisted in ``rollouts`` and advanced by the controller.

pending -> progressing(step) -> promoted | rolled_back | aborted, with paused beside
progressing. Every transition is one store call (one transaction) that also appends the
endpoint revision it needs, and only applies if the row is still in the state it was read
in, so the SDK, the CLI and a (restarted) leader can act on the same rollout safely. What
differs between strategies (steps, roles, step length, what is analysed, how it promotes)
comes from the strategy plug-in, never from its name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import RolloutStateError
from mainsail.core._ids import now_ms
from mainsail.rollout._alerts import raise_rollout_alert, resolve_rollout_alert
from mainsail.rollout._analysis import (
    check_dicts,
    feedback_accuracy,
    run_checks,
    summarize,
    variant_stats,
)
from mainsail.rollout._plan import Plan, to_rollout
from mainsail.rollout._smoke import reference_rows, send_smoke, smoke_check
from mainsail.rollout._strategies import Strategy
from mainsail.rollout._types import ACTIVE_STATES, AnalysisCheck, Rollout, Variant
from mainsail.rollout._webhooks import call_webhook
from mainsail.serving._variant_stats import MergedStats
from mainsail.store.protocols.rollout import RevisionDraft

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import LocalStore

log = logging.getLogger("mainsail.rollout")
_MAX_ANALYSIS = 200
_ANALYSED = ("hold", "failed", "observe")  # outcomes of an analysis that stays on its step
_SMOKE_RETRY_MS = 2000  # a preview not loaded yet (or unreachable) is tried again this often


class RolloutController:
    """Advance every active rollout when its step is due; the leader runs it.

    Examples
    --------
    >>> from mainsail.controllers import ControllerManager
    >>> manager = ControllerManager(ctx, names=["rollouts"]).start()  # doctest: +SKIP
    """

    name = "rollouts"

    def __init__(
        self,
        ctx: Context,
        interval_s: float = 0.5,
        stats_retention_s: float = 7 * 86400,
        smoke_url: str | None = None,
    ) -> None:
        self.ctx = ctx
        # where smoke requests go when a rollout's spec names no smoke_url: a data plane
        # that runs this controller itself (single-node ``serve --endpoint``) passes its own
        self.smoke_url = smoke_url
        self.interval_s = interval_s
        self.stats_retention_s = stats_retention_s
        self._pruned_at = 0
        self._smoke_tried: dict[int, int] = {}  # rollout id -> last smoke attempt (ms)
        self._smoke_failures: dict[int, str] = {}  # rollout id -> why the last one got nowhere

    @property
    def store(self) -> LocalStore:
        return self.ctx.database("The rollout controller")

    # -- the loop ----------------------------------------------------------------------------
    def tick(self, now_ms: int) -> None:
        if now_ms - self._pruned_at > 600_000:  # old serving stats go every ten minutes
            self._pruned_at = now_ms
            self.store.delete_serving_stats(now_ms - int(self.stats_retention_s * 1000))
        for record in self.store.list_rollout_records(states=["pending", "progressing"]):
            try:
                self.advance(record, now_ms)
            except Exception:  # noqa: BLE001 - one broken rollout must not stop the others
                log.exception(
                    "rollout %s of %s failed to advance", record["id"], record["endpoint"]
                )

    def advance(self, record: dict[str, Any], now: int) -> None:
        plan = Plan.of(record)
        if record["state"] == "pending":
            self._start(plan, now)
            return
        if record["state"] != "progressing":
            return
        spec, strategy, step = plan.spec, plan.strategy, int(record["step"])
        role = smoke_role(strategy, step)
        since = evidence_since(record, step, plan.interval_ms(step))
        if role is not None and self._smoke(plan, step, since, now, role):
            return  # the smoke is recorded; a later tick analyses with it
        if (record["next_at"] or 0) > now:
            return
        checks = self.analyse(plan, step, since)
        if role is not None:
            checks.append(self._smoke_check(plan, step, since, role))
        verdict = summarize(checks)
        weight = plan.weight()
        if not strategy.automatic:
            self._commit(plan, now, entry=self._entry(step, weight, now, checks, "observe"),
                         next_at=now + plan.interval_ms(step))  # fmt: skip
            return
        if spec.rollback:
            res = call_webhook(
                spec.rollback, "rollback", plan.payload("rollback"), spec.webhook_timeout
            )
            if res.ok:
                self._roll_back(plan, now, f"Rolled back: the rollback webhook answered {res.status}.",
                                checks, automatic=True)  # fmt: skip
                return
        if verdict == "fail":
            failed = int(record["failed_checks"]) + 1
            bad = ", ".join(f"{c.name}={_fmt(c.value)} (threshold {_fmt(c.threshold)})"
                            for c in checks if c.status == "fail")  # fmt: skip
            if failed >= spec.threshold:
                self._roll_back(plan, now, f"Rolled back after {failed} failed analyses: {bad}.",
                                checks, automatic=True, failed=failed)  # fmt: skip
                return
            self._commit(plan, now, entry=self._entry(step, weight, now, checks, "failed"),
                         failed_checks=failed, next_at=now + plan.interval_ms(step),
                         message=f"Step {step}: failed {bad} ({failed}/{spec.threshold}).")  # fmt: skip
            return
        # a smoke step (blue-green's pre-promotion analysis) never advances on no evidence
        tolerate = strategy.tolerate_inconclusive and role is None
        if verdict == "inconclusive" and not tolerate:
            few = ", ".join(f"{c.name} ({c.message})" for c in checks if c.status == "inconclusive")
            self._commit(plan, now, entry=self._entry(step, weight, now, checks, "hold"),
                         next_at=now + plan.interval_ms(step),
                         message=f"Step {step} at {weight:g}%: waiting for data: {few}.")  # fmt: skip
            return
        nxt = step + 1
        steps = strategy.steps(spec)
        if nxt == strategy.confirm_before(spec) and spec.confirm_promotion:
            res = call_webhook(spec.confirm_promotion, "confirm_promotion",
                               plan.payload("confirm_promotion"), spec.webhook_timeout)  # fmt: skip
            if not res.ok:
                self._commit(plan, now, entry=self._entry(step, weight, now, checks, "hold"),
                             next_at=now + plan.interval_ms(step),
                             message=f"Waiting for promotion to be confirmed: {res.message}.")  # fmt: skip
                return
        if nxt < len(steps):
            variants = strategy.variants(plan.stable, plan.target, spec, nxt)
            self._commit(plan, now, variants=variants, revision_step=nxt,
                         entry=self._entry(step, weight, now, checks, "advance"), step=nxt,
                         next_at=now + plan.interval_ms(nxt),
                         message=f"Step {nxt}: {plan.target.address} at {steps[nxt]:g}%.")  # fmt: skip
            return
        self._promote(plan, now, checks, entry_outcome="promote")

    def analyse(self, plan: Plan, step: int, since_ms: int) -> list[AnalysisCheck]:
        target, baseline = plan.strategy.analyzed(step)
        stats = self.variant_stats(plan, step, since_ms)
        accuracy = None
        if plan.spec.min_accuracy_delta is not None and baseline:
            accuracy = feedback_accuracy(self.ctx, plan.endpoint, since_ms, [target, baseline])
        return run_checks(stats, target, baseline, plan.spec, accuracy)

    # -- smoke requests -----------------------------------------------------------------------
    def _smoke_entry(self, plan: Plan, step: int, since: int) -> dict[str, Any] | None:
        """The latest smoke sent to this step's analysis window, if any."""
        for entry in reversed(plan.record.get("analysis") or []):
            if entry.get("outcome") == "smoke" and entry.get("step") == step:
                return entry.get("smoke") if int(entry["ts"]) >= since else None
        return None

    def _smoke(self, plan: Plan, step: int, since: int, now: int, role: str) -> bool:
        """Send the smoke requests of this window unless done; ``True`` if one was recorded."""
        url = plan.spec.smoke_url or self.smoke_url
        done = self._smoke_entry(plan, step, since)
        if url is None or (done and (done["answered"] >= done["sent"] or done["errors"])):
            return False
        rid = int(plan.record["id"])
        if now - self._smoke_tried.get(rid, 0) < _SMOKE_RETRY_MS:
            return False
        self._smoke_tried[rid] = now
        try:
            frame = reference_rows(self.ctx, plan)
        except Exception as exc:  # noqa: BLE001 - reported in the check, never crashes a tick
            self._smoke_failures[rid] = f"could not read the reference sample: {exc}"
            return False
        n = plan.spec.smoke_requests or max(plan.spec.min_requests, 1)
        result = send_smoke(url, plan.endpoint, role, frame, n, plan.spec.webhook_timeout)
        if not (result.answered or result.errors):  # not loaded there yet, or unreachable
            self._smoke_failures[rid] = result.message or (
                f"the {role} did not answer yet ({result.other} of {result.sent} requests "
                "answered by another variant)"
            )
            return False
        self._smoke_failures.pop(rid, None)
        entry = self._entry(step, plan.weight(), now, [], "smoke")
        entry["smoke"] = result.as_dict()
        return self._commit(plan, now, entry=entry)

    def _smoke_check(self, plan: Plan, step: int, since: int, role: str) -> AnalysisCheck:
        url = plan.spec.smoke_url or self.smoke_url
        check = smoke_check(role, url, self._smoke_entry(plan, step, since))
        failure = self._smoke_failures.get(int(plan.record["id"]))
        if check.status == "inconclusive" and failure and url:
            check = check.model_copy(update={"message": f"{check.message} ({failure})"})
        return check

    def variant_stats(self, plan: Plan, step: int, since_ms: int) -> dict[str, MergedStats]:
        """Stats of each variant at ``step`` (its own model version only), since ``since_ms``."""
        return variant_stats(self.store, plan, step, since_ms)

    # -- transitions -------------------------------------------------------------------------
    def _entry(
        self, step: int, weight: float, now: int, checks: list[AnalysisCheck], outcome: str
    ) -> dict[str, Any]:
        return {
            "step": step,
            "weight": weight,
            "ts": now,
            "checks": check_dicts(checks),
            "outcome": outcome,
        }

    def _commit(
        self,
        plan: Plan,
        now: int,
        variants: list[Variant] | None = None,
        reason: str | None = None,
        revision_step: int | None = None,
        entry: dict[str, Any] | None = None,
        actor: str = "rollout-controller",
        **fields: Any,
    ) -> bool:
        """Apply a transition (and the revision it needs) if nobody moved the rollout first."""
        r = plan.record
        if entry is not None:
            fields["analysis"] = (list(r["analysis"] or []) + [entry])[-_MAX_ANALYSIS:]
        if fields.get("state") in ("promoted", "rolled_back", "aborted"):
            fields["finished_at"] = now
        revision = None
        if variants is not None:
            step = revision_step if revision_step is not None else int(r["step"])
            revision = RevisionDraft(
                [v.model_dump() for v in variants],
                plan.revision_strategy(step),
                reason or f"rollout {r['id']} ({plan.strategy.name}) step {step}",
                actor,
            )
        return self.store.update_rollout(
            r["id"],
            expect={"state": r["state"], "step": r["step"], "updated_at": r["updated_at"]},
            revision=revision,
            **fields,
        )

    def _start(self, plan: Plan, now: int) -> None:
        spec, r = plan.spec, plan.record
        if spec.pre_rollout:
            res = call_webhook(spec.pre_rollout, "pre_rollout", plan.payload("pre_rollout"),
                               spec.webhook_timeout)  # fmt: skip
            if not res.ok:
                failed = int(r["failed_checks"]) + 1
                check = AnalysisCheck(name="pre_rollout", status="fail", message=res.message)
                if failed >= spec.threshold:
                    self._roll_back(plan, now, f"Not started: {res.message}.", [check],
                                    automatic=True, failed=failed)  # fmt: skip
                else:
                    self._commit(plan, now, entry=self._entry(0, 0.0, now, [check], "webhook"),
                                 failed_checks=failed,
                                 message=f"Pre-rollout webhook failed ({failed}/{spec.threshold}): "
                                 f"{res.message}.")  # fmt: skip
                return
        steps = plan.strategy.steps(spec)
        variants = plan.strategy.variants(plan.stable, plan.target, spec, 0)
        self._commit(plan, now, variants=variants, revision_step=0, state="progressing", step=0,
                     next_at=now + plan.interval_ms(0),
                     message=f"Step 0: {plan.target.address} at {steps[0]:g}%.")  # fmt: skip

    def _promote(
        self,
        plan: Plan,
        now: int,
        checks: list[AnalysisCheck] | None = None,
        entry_outcome: str = "promote",
        variants: list[Variant] | None = None,
        message: str | None = None,
        actor: str = "rollout-controller",
    ) -> bool:
        r = plan.record
        final = variants or plan.strategy.final(plan.stable, plan.target, plan.spec)
        current = self.store.get_revision(plan.endpoint)
        same = current is not None and [Variant(**v) for v in current["variants"]] == final
        ok = self._commit(
            plan,
            now,
            variants=None if same else final,
            reason=f"rollout {r['id']} promoted",
            entry=self._entry(int(r["step"]), plan.weight(), now, checks or [], entry_outcome),
            actor=actor,
            state="promoted",
            message=message or f"Promoted {plan.target.address} to 100% of {plan.endpoint}.",
        )
        if ok:
            resolve_rollout_alert(self.ctx, plan.endpoint)
            self._post(plan, "promoted")
        return ok

    def _roll_back(
        self,
        plan: Plan,
        now: int,
        message: str,
        checks: list[AnalysisCheck],
        automatic: bool,
        failed: int | None = None,
        state: str = "rolled_back",
        actor: str = "rollout-controller",
    ) -> bool:
        r = plan.record
        variants = None
        if r["to_revision"] is not None and r["from_revision"] is not None:
            prev = self.store.get_revision(plan.endpoint, r["from_revision"])
            variants = [Variant(**v) for v in prev["variants"]] if prev else None
        fields: dict[str, Any] = {"state": state, "message": message}
        if failed is not None:
            fields["failed_checks"] = failed
        ok = self._commit(
            plan,
            now,
            variants=variants,
            reason=f"rollout {r['id']} {state.replace('_', ' ')}",
            entry=self._entry(int(r["step"]), plan.weight(), now, checks, state),
            actor=actor,
            **fields,
        )
        if ok and automatic:
            raise_rollout_alert(
                self.ctx,
                plan.endpoint,
                {
                    "rollout": r["id"],
                    "strategy": plan.strategy.name,
                    "target": plan.target.address,
                    "stable": plan.stable.address,
                    "message": message,
                    "failed_checks": [c.model_dump() for c in checks if c.status == "fail"],
                },
                value=float(failed) if failed is not None else None,
            )
        if ok:
            self._post(plan, state)
        return ok

    def _post(self, plan: Plan, outcome: str) -> None:
        if plan.spec.post_rollout:
            res = call_webhook(plan.spec.post_rollout, "post_rollout",
                               plan.payload("post_rollout", outcome=outcome),
                               plan.spec.webhook_timeout)  # fmt: skip
            if not res.ok:
                log.warning("post-rollout webhook of %s: %s", plan.endpoint, res.message)

    # -- manual control (the SDK and CLI call these) -----------------------------------------
    def _active(self, endpoint: str) -> Plan:
        record = self.store.get_rollout_record(endpoint)
        if record is None or record["state"] not in ACTIVE_STATES:
            state = record["state"] if record else "none"
            raise RolloutStateError(
                f"Endpoint {endpoint!r} has no active rollout (the latest is {state}). "
                "Start one with mainsail deploy ENDPOINT MODEL --strategy canary."
            )
        return Plan.of(record)

    def promote(self, endpoint: str, actor: str = "user") -> Rollout:
        plan = self._active(endpoint)
        plan.strategy.final(plan.stable, plan.target, plan.spec)  # A/B raises with the hint
        self._retry(lambda p: self._promote(p, now_ms(), entry_outcome="manual promote",
                                            message="Promoted by hand.", actor=actor),
                    endpoint)  # fmt: skip
        return self._latest(endpoint)

    def declare_winner(self, endpoint: str, arm: str, actor: str = "user") -> Rollout:
        plan = self._active(endpoint)
        arms = plan.strategy.arms(plan.stable, plan.target)
        if not arms:
            raise RolloutStateError(
                f"The active rollout of {endpoint!r} is {plan.strategy.name}, which has no arms "
                "to declare a winner among (that is an A/B test's). Use mainsail rollout "
                "promote instead."
            )
        if arm not in arms:
            raise RolloutStateError(
                f"Unknown arm {arm!r}. Valid arms are: {', '.join(sorted(arms))}."
            )
        winner = arms[arm]
        final = [Variant(name="stable", model=winner.model, version=winner.version, weight=100)]
        self._retry(lambda p: self._promote(p, now_ms(), entry_outcome=f"winner {arm}",
                                            variants=final, actor=actor,
                                            message=f"Arm {arm} ({winner.address}) declared the winner."),
                    endpoint)  # fmt: skip
        return self._latest(endpoint)

    def pause(self, endpoint: str) -> Rollout:
        def do(p: Plan) -> bool:
            if p.record["state"] == "paused":
                return True
            return self._commit(p, now_ms(), state="paused", message="Paused by hand.")

        self._retry(do, endpoint)
        return self._latest(endpoint)

    def resume(self, endpoint: str) -> Rollout:
        def do(p: Plan) -> bool:
            if p.record["state"] != "paused":
                return True
            state = "progressing" if p.record["to_revision"] is not None else "pending"
            return self._commit(p, now_ms(), state=state, message="Resumed.",
                                next_at=now_ms() + p.interval_ms(int(p.record["step"])))  # fmt: skip

        self._retry(do, endpoint)
        return self._latest(endpoint)

    def abort(self, endpoint: str, actor: str = "user") -> Rollout:
        self._retry(lambda p: self._roll_back(p, now_ms(), "Aborted by hand; traffic back to stable.",
                                              [], automatic=False, state="aborted", actor=actor),
                    endpoint)  # fmt: skip
        return self._latest(endpoint)

    def roll_back(self, endpoint: str, actor: str = "user") -> Rollout:
        self._retry(lambda p: self._roll_back(p, now_ms(), "Rolled back by hand.", [],
                                              automatic=False, actor=actor),
                    endpoint)  # fmt: skip
        return self._latest(endpoint)

    def _retry(self, action: Callable[[Plan], bool], endpoint: str, attempts: int = 5) -> None:
        for _ in range(attempts):
            if action(self._active(endpoint)):
                return
        raise RolloutStateError(
            f"The rollout of {endpoint!r} kept changing under us; try again."
        )  # pragma: no cover

    def _latest(self, endpoint: str) -> Rollout:
        record = self.store.get_rollout_record(endpoint)
        if record is None:  # pragma: no cover - a rollout was just acted on
            raise RolloutStateError(f"Endpoint {endpoint!r} lost its rollout; try again.")
        return to_rollout(record)


def smoke_role(strategy: Strategy, step: int) -> str | None:
    """The variant ``strategy`` sends smoke requests to at ``step`` (plug-ins may not say)."""
    role = getattr(strategy, "smoke_role", None)
    return role(step) if callable(role) else None


def evidence_since(record: dict[str, Any], step: int, interval_ms: int) -> int:
    """When the evidence for ``step``'s analysis starts: the step's start, or its last failure.

    Evidence accumulates over the whole step: a step held for too few requests keeps what it
    saw (steady light traffic adds up instead of starting from zero every interval). A failed
    analysis starts a fresh window, so the next verdict is judged on new traffic only.
    """
    entries = record.get("analysis") or []
    started = [
        int(e["ts"]) for e in entries if e.get("outcome") == "advance" and e.get("step") == step - 1
    ]
    # analyses of this step once it runs (a pre-rollout webhook's entry comes before it)
    mine = [e for e in entries if e.get("step") == step and e.get("outcome") in _ANALYSED]
    if started:  # the transition into this step
        since = started[-1]
    elif mine:  # step 0: its first analysis came one interval after it began
        since = int(mine[0]["ts"]) - interval_ms
    else:
        since = int(record["next_at"] or record["updated_at"]) - interval_ms
    for e in mine:
        if e.get("outcome") == "failed":
            since = max(since, int(e["ts"]))
    return since


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"
