"""The built-in trigger types: alerts, monitor scores, new data, a schedule.

Each is an options model plus ``evaluate`` (see :class:`~mainsail.automation.Trigger`); they
register in ``TRIGGERS`` by name like any third-party trigger.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from mainsail.automation._trigger import Firing, Trigger, seen, seen_patch
from mainsail.core._errors import NotFoundError

if TYPE_CHECKING:
    from mainsail.store._context import Context

_SEVERITY = {"info": 0, "warning": 1, "critical": 2}


class DriftAlertTrigger(Trigger):
    """Fires on a firing alert of the endpoint whose rule names drift (or one of ``rules``)."""

    type: Literal["drift_alert"] = "drift_alert"
    rules: list[str] = Field(default_factory=list)
    min_severity: Literal["info", "warning", "critical"] = "warning"

    def evaluate(
        self,
        ctx: Context,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        """A firing alert on the endpoint, evaluated after the automation's own last change."""
        guard = int(state.get("guard_until") or 0)
        last = int(seen(state, index) or 0)
        firing = ctx.store.list_alert_rows(automation["endpoint"], "firing")
        for a in sorted(firing, key=lambda row: -int(row["updated_at"])):
            rule, severity, updated = a["rule"], a["severity"], int(a["updated_at"])
            matches = rule in self.rules if self.rules else "drift" in rule.lower()
            if not matches or _SEVERITY.get(severity, 0) < _SEVERITY[self.min_severity]:
                continue
            # Loop guard: evidence gathered before our own rollout settled does not count.
            if updated <= guard or updated <= last:
                continue
            return Firing(
                type="drift_alert",
                key=f"alert:{a['id']}:{updated}",
                summary=f"alert '{rule}' ({severity}) firing on {automation['endpoint']}",
                evidence={
                    "alert_id": a["id"],
                    "rule": rule,
                    "value": a["value"],
                    "features": (a["evidence"] or {}).get("features"),
                },
                mark=seen_patch(index, updated),
            )
        return None


class PerformanceTrigger(Trigger):
    """Fires when a monitor's score ``metric`` falls below ``below``."""

    type: Literal["performance"] = "performance"
    metric: str = "performance.accuracy"
    below: float
    min_coverage: float = Field(default=0.0, ge=0.0, le=1.0)

    def evaluate(
        self,
        ctx: Context,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        """The newest monitor result of the endpoint has ``metric`` below the floor."""
        guard = int(state.get("guard_until") or 0)
        last = int(seen(state, index) or 0)
        store = ctx.database("The performance trigger")
        for r in store.endpoint_result_scores(automation["endpoint"], max(guard, last), 20):
            scores = r["scores"]
            value = scores.get(self.metric)
            if value is None:
                continue
            coverage = scores.get("performance.coverage", 1.0)
            mark = seen_patch(index, r["ts"])
            if value < self.below and (coverage or 0.0) >= self.min_coverage:
                return Firing(
                    type="performance",
                    key=f"monitor_result:{r['id']}",
                    summary=(
                        f"{self.metric} = {value:.4g} < {self.below:g} on {automation['endpoint']}"
                    ),
                    evidence={
                        "monitor_result_id": r["id"],
                        "metric": self.metric,
                        "value": value,
                        "label_coverage": coverage,
                    },
                    mark=mark,
                )
            return None  # the newest figure is fine
        return None


class NewDataTrigger(Trigger):
    """Fires when the latest version of ``dataset`` has ``min_new_rows`` more rows than the
    version the last retraining saw."""

    type: Literal["new_data"] = "new_data"
    dataset: str
    min_new_rows: int = Field(default=1, ge=1)

    def evaluate(
        self,
        ctx: Context,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        """The dataset's newest version has enough rows beyond the one last trained on."""
        try:
            latest = ctx.store.get_dataset_version(self.dataset)
        except NotFoundError:
            return None
        base = state.get("data", {}).get(self.dataset)
        current = {"version": latest.version, "rows": latest.row_count}
        if base is None:  # first look: this is the baseline, not news
            return Firing("new_data", "", "", mark={"data": {self.dataset: current}})
        new_rows = latest.row_count - int(base["rows"])
        if latest.version == base["version"] or new_rows < self.min_new_rows:
            return None
        return Firing(
            type="new_data",
            key=f"dataset:{self.dataset}:{latest.version}",
            summary=(
                f"datasets:/{self.dataset}/{latest.version} has {new_rows} new rows "
                f"(since version {base['version']})"
            ),
            evidence={"dataset": self.dataset, "version": latest.version, "new_rows": new_rows},
            on_fire={"data": {self.dataset: current}},
        )


class ScheduleTrigger(Trigger):
    """Fires at each slot of a five-field cron expression (UTC)."""

    type: Literal["schedule"] = "schedule"
    cron: str

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(
                f"Expected a five-field cron expression such as '0 3 * * 1'. Got {v!r}."
            )
        return v

    def evaluate(
        self,
        ctx: Context,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        """A cron slot passed since the last one; missed slots collapse into one firing."""
        from croniter import croniter

        last = int(seen(state, index) or automation["created_at"])
        it = croniter(self.cron, dt.datetime.fromtimestamp(last / 1000, dt.UTC))
        slot = int(it.get_next(float) * 1000)
        if slot > now:
            return None
        while True:
            nxt = int(it.get_next(float) * 1000)
            if nxt > now:
                break
            slot = nxt
        return Firing(
            type="schedule",
            key=f"cron:{slot}",
            summary=(
                f"schedule '{self.cron}' slot "
                f"{dt.datetime.fromtimestamp(slot / 1000, dt.UTC):%Y-%m-%d %H:%M}Z"
            ),
            evidence={"cron": self.cron, "slot_ms": slot},
            mark=seen_patch(index, slot),
        )


__all__ = ["DriftAlertTrigger", "NewDataTrigger", "PerformanceTrigger", "ScheduleTrigger"]
