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
      - {type: file_drop, path: /data/ready}       # any registered trigger type
    checks:
      policy: checks.yaml              # release checks against @champion
      data: datasets:/churn-holdout@latest   # default: the pipeline's 'holdout' output
    rollout: {strategy: canary, spec: {steps: [10, 50, 100], interval: 60}}
    cooldown: 6h
    require_approval: false
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from mainsail.automation._trigger import TRIGGERS, Trigger
from mainsail.core._durations import parse_duration
from mainsail.core._errors import AutomationSpecError, InvalidValueError, MainsailError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _triggers(value: Any) -> Any:
    """Each trigger mapping as its registered type's model; errors located per trigger."""
    if not isinstance(value, list):
        return value  # pydantic says a list is expected
    out: list[Trigger] = []
    errors: list[InitErrorDetails] = []
    for i, item in enumerate(value):
        if isinstance(item, Trigger):
            out.append(item)
            continue
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or kind not in TRIGGERS:
            if not isinstance(item, dict):
                problem = f"Expected a trigger mapping with 'type'. Got {type(item).__name__}."
            elif kind is None:
                problem = "A trigger needs 'type'."
            else:
                problem = f"Unknown trigger type {kind!r}."
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError(
                        "trigger_type",
                        f"{problem} Valid trigger types are: {', '.join(TRIGGERS.names())}",
                    ),
                    loc=(i, "type"),
                    input=item,
                )
            )
            continue
        try:
            out.append(TRIGGERS.get(kind).model_validate(item))
        except ValidationError as exc:
            errors.extend(
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"]),
                    loc=(i, kind, *e["loc"]),
                    input=e["input"],
                )
                for e in exc.errors()
            )
        except MainsailError as exc:  # a plug-in that fails its contract when first loaded
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("trigger_type", exc.message),
                    loc=(i, "type"),
                    input=item,
                )
            )
    if errors:
        raise ValidationError.from_exception_data("triggers", errors)
    return out


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
    triggers: list[SerializeAsAny[Trigger]] = Field(min_length=1)
    checks: ChecksPlan = Field(default_factory=ChecksPlan)
    rollout: RolloutPlan = Field(default_factory=RolloutPlan)
    cooldown: float = 3600.0
    settle: float = 0.0
    require_approval: bool = False
    promote_alias: str | None = "champion"
    executor: str = "inprocess"
    queue: str = "default"
    max_attempts: int = Field(default=2, ge=1, le=10)

    _resolve_triggers = field_validator("triggers", mode="before")(_triggers)

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
            msg = err["msg"].removeprefix("Value error, ").rstrip(".")
            if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
                valid = ", ".join(AutomationSpec.model_fields)
                msg = f"unknown field. Valid top-level fields are: {valid}"
            problems.append(f"{where}: {msg}")
        raise AutomationSpecError(
            "The automation spec is invalid: " + "; ".join(problems) + "."
        ) from None
