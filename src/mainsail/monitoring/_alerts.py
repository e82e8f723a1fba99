"""Alert rules over monitor scores, and the alert lifecycle stored in ``alerts``.

A rule compares one score (``"drift.share"``, ``"performance.accuracy"``, ...) with a
threshold. While the condition holds the alert is *pending*; once it has held for
``for_s`` seconds it is *firing*; when it clears, a firing alert is *resolved* (a pending
one is dropped as resolved without a notification). One open alert exists per
fingerprint (rule + endpoint + monitor, so two monitors of one endpoint with a rule of the
same name do not share, and flap, one alert): repeated evaluations update its value, evidence and
``count`` instead of creating duplicates. Notifiers are called once per transition to
firing and to resolved (``notified_state`` remembers what was sent).

Every change is a compare-and-set on the stored alert (the store's ``update_alert(expect=)``):
two evaluations at once (the controller and a manual run, two replicas) move an alert once
and notify once; the loser re-reads and applies its evaluation to the new state.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from mainsail.core._errors import ConflictError, InvalidValueError
from mainsail.core._ids import now_ms as _now
from mainsail.store.protocols import LocalStore
from mainsail.store.protocols.monitoring import MonitorRunStore, MonitorStore, check_alert_state

Severity = Literal["info", "warning", "critical"]
State = Literal["pending", "firing", "resolved"]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class AlertRule(BaseModel):
    """``metric op threshold`` held for ``for_s`` seconds raises an alert of ``severity``.

    Examples
    --------
    >>> rule = AlertRule(name="drift", metric="drift.share", op=">=", threshold=0.5)
    >>> rule.holds({"drift.share": 0.6})
    True
    """

    name: str
    metric: str
    op: str = ">"
    threshold: float
    for_s: float = 0.0
    severity: Severity = "warning"
    description: str | None = None

    @field_validator("op")
    @classmethod
    def _op(cls, v: str) -> str:
        if v not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}; got {v!r}")
        return v

    @field_validator("for_s")
    @classmethod
    def _for(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"for_s must be >= 0; got {v}")
        return v

    def holds(self, scores: dict[str, float]) -> bool | None:
        """True/False, or None when the metric is absent (no data: state unchanged)."""
        value = scores.get(self.metric)
        if value is None:
            return None
        return bool(_OPS[self.op](float(value), self.threshold))

    @property
    def condition(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def default_rules() -> list[AlertRule]:
    """Dataset drift raises ``drift``; accuracy (or R²) 0.05 below the reference, ``performance``."""
    rules = [
        AlertRule(
            name="drift",
            metric="drift.dataset",
            op=">=",
            threshold=1,
            severity="warning",
            description="The share of drifted features reached the monitor's max_drift_share.",
        ),
        AlertRule(
            name="performance",
            metric="performance.accuracy_delta",
            op="<",
            threshold=-0.05,
            severity="warning",
            description="Accuracy on labelled traffic is more than 0.05 below the reference.",
        ),
        AlertRule(
            name="performance_r2",
            metric="performance.r2_delta",
            op="<",
            threshold=-0.05,
            severity="warning",
            description="R² on labelled traffic is more than 0.05 below the reference.",
        ),
        AlertRule(
            name="errors",
            metric="operational.error_rate",
            op=">",
            threshold=0.05,
            severity="critical",
            description="More than 5% of requests failed.",
        ),
    ]
    return rules


def parse_rules(rules: list[AlertRule | dict[str, Any]] | None) -> list[AlertRule]:
    if rules is None:
        return default_rules()
    out = []
    for r in rules:
        try:
            out.append(r if isinstance(r, AlertRule) else AlertRule.model_validate(r))
        except Exception as exc:
            raise InvalidValueError(
                f"Bad alert rule {r!r}: {exc}. A rule has name, metric (a key of the monitor's "
                "scores, e.g. 'drift.share'), op (>, >=, <, <=, ==, !=), threshold, for_s and "
                "severity (info, warning, critical)."
            ) from exc
    return out


class Alert(BaseModel):
    id: int
    fingerprint: str
    rule: str
    endpoint: str | None
    severity: str
    state: State
    value: float | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    count: int = 1
    first_seen_at: int
    fired_at: int | None = None
    resolved_at: int | None = None
    updated_at: int
    notified_state: str | None = None

    def describe(self) -> str:
        v = f"{self.value:.4g}" if self.value is not None else "-"
        return (
            f"#{self.id} [{self.severity}] {self.rule} on {self.endpoint}: {self.state} (value {v})"
        )


def fingerprint(rule: str, endpoint: str | None, monitor: str | None = None) -> str:
    """The dedup key of an alert: its rule, endpoint and (rules of monitors) monitor."""
    key = f"{rule}\x00{endpoint or ''}"
    if monitor is not None:
        key += f"\x00{monitor}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _open_row(
    store: MonitorRunStore, fp: str, rule: str, endpoint: str, monitor: str | None
) -> dict[str, Any] | None:
    """The open alert of ``fp``; an alert opened before alerts were keyed by monitor (its
    evidence names this monitor) is taken over: re-keyed, so it resolves or stays open."""
    current = store.open_alert_row(fp)
    if current is not None or monitor is None:
        return current
    legacy = store.open_alert_row(fingerprint(rule, endpoint))
    if legacy is None or (legacy["evidence"] or {}).get("monitor") != monitor:
        return None
    return store.update_alert(legacy["id"], expect=_version(legacy), fingerprint=fp)


def check_state(state: str | None) -> str | None:
    """``state`` if it is an alert state (or ``None``), else a clear error."""
    return check_alert_state(state)


def list_alerts_in(
    store: MonitorStore, endpoint: str | None = None, state: str | None = None, limit: int = 1000
) -> list[Alert]:
    check_state(state)
    return [Alert.model_validate(r) for r in store.list_alert_rows(endpoint, state, limit)]


# Compare-and-set rounds before giving up: each lost round means another writer moved the
# alert, so a handful only runs out under a pathological storm of concurrent evaluations.
_ROUNDS = 16


def _conflict(what: str, alert: str) -> ConflictError:
    return ConflictError(
        f"Could not {what} alert {alert}: it kept changing under {_ROUNDS} concurrent "
        "updates. Run the monitor again."
    )


def _version(row: dict[str, Any]) -> dict[str, Any]:
    """What identifies the state we decided on: any other writer changes one of these."""
    return {"state": row["state"], "count": row["count"], "updated_at": row["updated_at"]}


def _apply_rule(
    store: MonitorRunStore,
    endpoint: str,
    rule: AlertRule,
    value: float,
    holds: bool,
    evidence: Callable[[AlertRule], dict[str, Any]],
    now: int,
    monitor: str | None = None,
) -> dict[str, Any] | None:
    """Move the rule's open alert on by one evaluation; its row after, or ``None``."""
    fp = fingerprint(rule.name, endpoint, monitor)
    ev: dict[str, Any] | None = None
    for _ in range(_ROUNDS):
        current = _open_row(store, fp, rule.name, endpoint, monitor)
        if not holds:
            if current is None:
                return None
            after = store.update_alert(
                current["id"],
                expect=_version(current),
                state="resolved",
                value=value,
                resolved_at=now,
                updated_at=now,
            )
        else:
            if ev is None:
                ev = {
                    **({"monitor": monitor} if monitor is not None else {}),
                    "metric": rule.metric,
                    "condition": rule.condition,
                    "description": rule.description,
                    **evidence(rule),
                }
            if current is None:
                state = "firing" if rule.for_s == 0 else "pending"
                after = store.insert_alert(
                    {
                        "fingerprint": fp,
                        "rule": rule.name,
                        "endpoint": endpoint,
                        "severity": rule.severity,
                        "state": state,
                        "value": value,
                        "evidence": ev,
                        "count": 1,
                        "first_seen_at": now,
                        "fired_at": now if state == "firing" else None,
                        "updated_at": now,
                    }
                )
            else:
                state, fired_at = current["state"], current["fired_at"]
                if state == "pending" and now - current["first_seen_at"] >= rule.for_s * 1000:
                    state, fired_at = "firing", now
                doc = dict(ev)
                if (current["evidence"] or {}).get("notify_errors"):
                    doc["notify_errors"] = current["evidence"]["notify_errors"]
                after = store.update_alert(
                    current["id"],
                    expect=_version(current),
                    state=state,
                    value=value,
                    evidence=doc,
                    count=current["count"] + 1,
                    severity=rule.severity,
                    fired_at=fired_at,
                    updated_at=now,
                )
        if after is not None:
            return after
    raise _conflict("update", f"{rule.name!r} on {endpoint!r}")


def _claim_notification(store: MonitorRunStore, row: dict[str, Any]) -> Alert | None:
    """The alert to notify about, if its state is news (``notified_state`` lags it) and
    this caller is the one that records the notification."""
    due = (row["state"] == "firing" and row["notified_state"] != "firing") or (
        row["state"] == "resolved" and row["notified_state"] == "firing"
    )
    if not due:
        return None
    claimed = store.update_alert(
        row["id"],
        expect={"state": row["state"], "notified_state": row["notified_state"]},
        notified_state=row["state"],
    )
    return Alert.model_validate(claimed) if claimed is not None else None


def evaluate(
    store: MonitorRunStore,
    endpoint: str,
    rules: list[AlertRule],
    scores: dict[str, float],
    evidence: Callable[[AlertRule], dict[str, Any]],
    now: int,
    monitor: str | None = None,
) -> list[tuple[Alert, str]]:
    """Apply ``rules`` to ``scores``; return the transitions to notify: (alert, event).

    ``monitor`` names the monitor whose rules these are: its alerts are its own.
    """
    events: list[tuple[Alert, str]] = []
    for rule in rules:
        holds = rule.holds(scores)
        if holds is None:
            continue
        value = float(scores[rule.metric])
        row = _apply_rule(store, endpoint, rule, value, holds, evidence, now, monitor)
        if row is None:
            continue
        alert = _claim_notification(store, row)
        if alert is not None:
            events.append((alert, alert.state))
    return events


def resolve_by_hand(store: LocalStore, alert_id: int, now: int | None = None) -> tuple[Alert, bool]:
    """Resolve an alert by hand: the alert after, and whether its resolution is news to the
    notifiers (its firing was notified, and this caller recorded the resolution)."""
    now = now or _now()
    for _ in range(_ROUNDS):
        current = store.get_alert_row(alert_id)
        if current["state"] == "resolved":
            return Alert.model_validate(current), False
        after = store.update_alert(
            alert_id,
            expect=_version(current),
            state="resolved",
            resolved_at=now,
            updated_at=now,
            evidence={**(current["evidence"] or {}), "resolved_by": "manual"},
        )
        if after is not None:
            claimed = _claim_notification(store, after)
            return (claimed or Alert.model_validate(after)), claimed is not None
    raise _conflict("resolve", f"#{alert_id}")


def raise_alert(
    store: MonitorRunStore,
    fp: str,
    rule: str,
    endpoint: str | None,
    severity: Severity,
    evidence: dict[str, Any],
    value: float | None = None,
    now: int | None = None,
) -> Alert:
    """Fire the alert ``fp`` now, or count one more firing of the open one (raised by code,
    not by a rule: no pending phase, no notification)."""
    now = now or _now()
    for _ in range(_ROUNDS):
        current = store.open_alert_row(fp)
        if current is None:
            after = store.insert_alert(
                {
                    "fingerprint": fp,
                    "rule": rule,
                    "endpoint": endpoint,
                    "severity": severity,
                    "state": "firing",
                    "value": value,
                    "evidence": evidence,
                    "count": 1,
                    "first_seen_at": now,
                    "fired_at": now,
                    "updated_at": now,
                }
            )
        else:
            after = store.update_alert(
                current["id"],
                expect=_version(current),
                state="firing",
                fired_at=current["fired_at"] or now,
                count=current["count"] + 1,
                evidence=evidence,
                value=value,
                updated_at=now,
            )
        if after is not None:
            return Alert.model_validate(after)
    raise _conflict("raise", f"{rule!r} on {endpoint!r}")


def resolve_open(store: MonitorRunStore, fp: str, now: int | None = None) -> Alert | None:
    """Resolve the open alert ``fp`` (its condition is gone), if there is one."""
    now = now or _now()
    for _ in range(_ROUNDS):
        current = store.open_alert_row(fp)
        if current is None:
            return None
        after = store.update_alert(
            current["id"],
            expect=_version(current),
            state="resolved",
            resolved_at=now,
            updated_at=now,
        )
        if after is not None:
            return Alert.model_validate(after)
    raise _conflict("resolve", repr(fp))


def record_notify_errors(store: LocalStore, alert: Alert, errors: list[str]) -> None:
    """Keep the last 20 notification errors in the alert's evidence."""
    if not errors:
        return
    for _ in range(_ROUNDS):
        current = store.get_alert_row(alert.id)
        ev = dict(current["evidence"] or {})
        ev["notify_errors"] = (list(ev.get("notify_errors") or []) + errors)[-20:]
        if store.update_alert(alert.id, expect=_version(current), evidence=ev) is not None:
            return
    raise _conflict("record notification errors on", f"#{alert.id}")
