"""Automation specs: triggers, what they set off (pipeline → checks → rollout), and guards.

An automation is declared per endpoint, in YAML or Python::

    name: churn-retrain
    endpoint: churn
    model: churn                       # the registered model new versions go to
    pipeline: my_project.pipelines:retrain
    params: {window_days: 30}
    triggers:
      - {type: drift_alert}                          # a firing drift alert on the endpoint
      - {type: performance, metric: performance.accuracy, below: 0.8}
      - {type: new_data, dataset: churn-train, min_new_rows: 5000}
      - {type: schedule, cron: "0 3 * * 1"}
    checks:
      policy: checks.yaml              # release checks against @champion
      data: datasets:/churn-holdout@latest   # default: the pipeline's 'holdout' output
    rollout: {strategy: canary, spec: {steps: [10, 50, 100], interval: 60}}
    cooldown: 6h
    require_approval: false
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mainsail.core._durations import parse_duration
from mainsail.core._errors import AutomationSpecError, InvalidValueError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriftAlertTrigger(_Strict):
    """Fires on a firing alert of the endpoint whose rule names drift (or one of ``rules``)."""

    type: Literal["drift_alert"] = "drift_alert"
    rules: list[str] = Field(default_factory=list)
    min_severity: Literal["info", "warning", "critical"] = "warning"


class PerformanceTrigger(_Strict):
    """Fires when a monitor's score ``metric`` falls below ``below``."""

    type: Literal["performance"] = "performance"
    metric: str = "performance.accuracy"
    below: float
    min_coverage: float = Field(default=0.0, ge=0.0, le=1.0)


class NewDataTrigger(_Strict):
    """Fires when the latest version of ``dataset`` has ``min_new_rows`` more rows than the
    version the last retraining saw."""

    type: Literal["new_data"] = "new_data"
    dataset: str
    min_new_rows: int = Field(default=1, ge=1)


class ScheduleTrigger(_Strict):
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


Trigger = Annotated[
    DriftAlertTrigger | PerformanceTrigger | NewDataTrigger | ScheduleTrigger,
    Field(discriminator="type"),
]
TRIGGER_TYPES = ("drift_alert", "performance", "new_data", "schedule")


class ChecksPlan(_Strict):
    policy: dict[str, Any] | str | None = None
    data: str | None = None
    label: str | None = None
    baseline: str | None = "@champion"


class RolloutPlan(_Strict):
    strategy: str = "canary"
    spec: dict[str, Any] = Field(default_factory=dict)


class AutomationSpec(_Strict):
    """What an automation watches, what it runs, and the guards around it."""

    name: str = Field(min_length=1, max_length=200)
    endpoint: str = Field(min_length=1)
    model: str = Field(min_length=1)
    pipeline: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    triggers: list[Trigger] = Field(min_length=1)
    checks: ChecksPlan = Field(default_factory=ChecksPlan)
    rollout: RolloutPlan = Field(default_factory=RolloutPlan)
    cooldown: float = 3600.0
    settle: float = 0.0
    require_approval: bool = False
    promote_alias: str | None = "champion"
    executor: str = "inprocess"
    queue: str = "default"
    max_attempts: int = Field(default=2, ge=1, le=10)

    @field_validator("cooldown", "settle", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        try:
            return parse_duration(v, allow_zero=True)
        except InvalidValueError as exc:
            raise ValueError(exc.message) from None

    @field_validator("pipeline")
    @classmethod
    def _pipeline_ref(cls, v: str) -> str:
        if ":" not in v:
            raise ValueError(
                f"Expected the pipeline as 'module:attribute' (e.g. 'my_project.flows:retrain'). "
                f"Got {v!r}."
            )
        return v


def parse_spec(source: AutomationSpec | dict[str, Any] | str | Path) -> AutomationSpec:
    """An :class:`AutomationSpec` from an object, a dict or a YAML file; clear errors."""
    if isinstance(source, AutomationSpec):
        return source
    if isinstance(source, str | Path) and not isinstance(source, dict):
        path = Path(source)
        if not path.is_file():
            raise AutomationSpecError(
                f"Expected an automation YAML file at '{path}'. It does not exist."
            )
        import yaml

        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise AutomationSpecError(f"'{path}' is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise AutomationSpecError(
                f"Expected a mapping at the top of '{path}'. Found {type(data).__name__}."
            )
        source = data
    try:
        return AutomationSpec.model_validate(source)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "spec"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "union_tag_invalid" or "discriminator" in err["type"]:
                msg += f" Valid trigger types are: {', '.join(TRIGGER_TYPES)}."
            if err["type"] == "extra_forbidden":
                valid = ", ".join(AutomationSpec.model_fields)
                msg = f"unknown field. Valid top-level fields are: {valid}"
            problems.append(f"{where}: {msg}")
        raise AutomationSpecError(
            "The automation spec is invalid: " + "; ".join(problems) + "."
        ) from None
