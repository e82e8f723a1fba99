"""Alert rules over monitor scores, and the alert lifecycle stored in ``alerts``.

A rule compares one score (``"drift.share"``, ``"performance.accuracy"``, ...) with a
threshold. While the condition holds the alert is *pending*; once it has held for
``for_s`` seconds it is *firing*; when it clears, a firing alert is *resolved* (a pending
one is dropped as resolved without a notification). One open alert exists per
fingerprint (rule + endpoint): repeated evaluations update its value, evidence and
``count`` instead of creating duplicates. Notifiers are called once per transition to
firing and to resolved (``notified_state`` remembers what was sent).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator

from mainsail.core._errors import InvalidValueError, NotFoundError
from mainsail.core._ids import now_ms as _now
from mainsail.store import _tables as T

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
            description="The share of drifted features reached the monitor's drift_share.",
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


def fingerprint(rule: str, endpoint: str | None) -> str:
    return hashlib.sha256(f"{rule}\x00{endpoint or ''}".encode()).hexdigest()[:32]


def _alert(row: Any) -> Alert:
    return Alert.model_validate(dict(row._mapping))


def check_state(state: str | None) -> str | None:
    """``state`` if it is an alert state (or ``None``), else a clear error."""
    if state is not None and state not in ("pending", "firing", "resolved"):
        raise InvalidValueError(
            f"Unknown alert state {state!r}. Valid states are: pending, firing, resolved."
        )
    return state


def list_alerts_in(
    db: Any, endpoint: str | None = None, state: str | None = None, limit: int = 1000
) -> list[Alert]:
    check_state(state)
    q = sa.select(T.alerts).order_by(T.alerts.c.id.desc()).limit(limit)
    if endpoint is not None:
        q = q.where(T.alerts.c.endpoint == endpoint)
    if state is not None:
        q = q.where(T.alerts.c.state == state)
    with db.read() as conn:
        return [_alert(r) for r in conn.execute(q)]


def get_alert_in(db: Any, alert_id: int) -> Alert:
    with db.read() as conn:
        row = conn.execute(sa.select(T.alerts).where(T.alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"No alert with id {alert_id}. List them with: mainsail alerts list")
    return _alert(row)


def resolve_alert_in(db: Any, alert_id: int, now: int | None = None) -> Alert:
    alert = get_alert_in(db, alert_id)
    if alert.state == "resolved":
        return alert
    now = now or _now()
    with db.write() as conn:
        conn.execute(
            sa.update(T.alerts)
            .where(T.alerts.c.id == alert_id)
            .values(
                state="resolved",
                resolved_at=now,
                updated_at=now,
                evidence={**alert.evidence, "resolved_by": "manual"},
            )
        )
    return get_alert_in(db, alert_id)


def evaluate(
    db: Any,
    endpoint: str,
    rules: list[AlertRule],
    scores: dict[str, float],
    evidence: Callable[[AlertRule], dict[str, Any]],
    now: int,
) -> list[tuple[Alert, str]]:
    """Apply ``rules`` to ``scores``; return the transitions to notify: (alert, event)."""
    events: list[tuple[Alert, str]] = []
    for rule in rules:
        holds = rule.holds(scores)
        if holds is None:
            continue
        fp = fingerprint(rule.name, endpoint)
        value = float(scores[rule.metric])
        with db.write() as conn:
            row = conn.execute(
                sa.select(T.alerts)
                .where(T.alerts.c.fingerprint == fp, T.alerts.c.state.in_(("pending", "firing")))
                .order_by(T.alerts.c.id.desc())
                .limit(1)
            ).first()
            current = _alert(row) if row is not None else None
            if holds:
                ev = {
                    "metric": rule.metric,
                    "condition": rule.condition,
                    "description": rule.description,
                    **evidence(rule),
                }
                if current is None:
                    state = "firing" if rule.for_s == 0 else "pending"
                    res = conn.execute(
                        sa.insert(T.alerts).values(
                            fingerprint=fp,
                            rule=rule.name,
                            endpoint=endpoint,
                            severity=rule.severity,
                            state=state,
                            value=value,
                            evidence=ev,
                            count=1,
                            first_seen_at=now,
                            fired_at=now if state == "firing" else None,
                            updated_at=now,
                        )
                    )
                    alert_id = int(res.inserted_primary_key[0])
                else:
                    alert_id = current.id
                    state = current.state
                    fired_at = current.fired_at
                    if state == "pending" and now - current.first_seen_at >= rule.for_s * 1000:
                        state, fired_at = "firing", now
                    if current.evidence.get("notify_errors"):
                        ev["notify_errors"] = current.evidence["notify_errors"]
                    conn.execute(
                        sa.update(T.alerts)
                        .where(T.alerts.c.id == alert_id)
                        .values(
                            state=state,
                            value=value,
                            evidence=ev,
                            count=current.count + 1,
                            severity=rule.severity,
                            fired_at=fired_at,
                            updated_at=now,
                        )
                    )
            elif current is not None:
                alert_id = current.id
                conn.execute(
                    sa.update(T.alerts)
                    .where(T.alerts.c.id == alert_id)
                    .values(state="resolved", value=value, resolved_at=now, updated_at=now)
                )
            else:
                continue
            row = conn.execute(sa.select(T.alerts).where(T.alerts.c.id == alert_id)).first()
            after = _alert(row)
            due = (
                after.state == "firing"
                and after.notified_state != "firing"
                or after.state == "resolved"
                and after.notified_state == "firing"
            )
            if due:
                conn.execute(
                    sa.update(T.alerts)
                    .where(T.alerts.c.id == alert_id)
                    .values(notified_state=after.state)
                )
                after = after.model_copy(update={"notified_state": after.state})
                events.append((after, after.state))
    return events


def record_notify_errors(db: Any, alert: Alert, errors: list[str]) -> None:
    if not errors:
        return
    with db.write() as conn:
        row = conn.execute(sa.select(T.alerts.c.evidence).where(T.alerts.c.id == alert.id)).first()
        ev = dict(row[0]) if row is not None else {}
        ev["notify_errors"] = (list(ev.get("notify_errors") or []) + errors)[-20:]
        conn.execute(sa.update(T.alerts).where(T.alerts.c.id == alert.id).values(evidence=ev))
