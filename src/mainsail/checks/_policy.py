"""Release-check policies: which checks run and the thresholds they are held to.

A policy is a YAML file, a dict or a :class:`CheckPolicy`. Every section is optional;
a section that is present runs its check. Example::

    label: churned                      # the label column in the data
    metrics:                            # absolute floors (min) / ceilings (max)
      roc_auc: {min: 0.8}
      log_loss: {max: 0.5}
    baseline:                           # compared with --baseline on the same rows
      metric: roc_auc
      margin: -0.01                     # non-inferiority: delta CI lower bound >= -0.01
      test: bootstrap                   # or mcnemar (accuracy only)
      min_abs_change: 0.005             # optional: the point estimate must gain this much
      min_rel_change: 0.01              # optional: ... and this much relative to the baseline
    slices: {columns: [plan], metric: roc_auc, min: 0.7, max_gap: 0.1, bins: 4}
    robustness: {noise: 0.1, missing: 0.1, unseen: 0.1, out_of_range: 0.05, max_drop: 0.05}
    invariance:
      - {feature: customer_id}          # shuffling it must not change predictions
    directional:
      - {feature: income, direction: increase, expect: non_decreasing}
    budgets: {p99_ms: 50, size_mb: 100, load_memory_mb: 500, min_rows_per_s: 1000}
    skew: {max_drift_share: 0.3}        # holdout vs the version's reference profile
    schema: true                        # the baseline's inputs are still accepted
    smoke: true                         # serve it for real and send sample rows

Metric names: classification ``accuracy, balanced_accuracy, f1, precision, recall,
roc_auc, log_loss, brier``; regression ``rmse, mse, mae, r2``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mainsail.core._errors import InvalidValueError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricThreshold(_Section):
    min: float | None = None
    max: float | None = None


class BaselinePolicy(_Section):
    metric: str | None = None
    margin: float = 0.0
    test: Literal["bootstrap", "mcnemar"] = "bootstrap"
    min_abs_change: float | None = None
    min_rel_change: float | None = None
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    n_boot: int = Field(default=1000, ge=100, le=20000)
    min_rows: int = Field(default=30, ge=2)


class SlicePolicy(_Section):
    columns: list[str]
    metric: str | None = None
    min: float | None = None
    max_gap: float | None = Field(default=None, ge=0)
    bins: int = Field(default=4, ge=2, le=50)
    min_rows: int = Field(default=30, ge=1)


class RobustnessPolicy(_Section):
    metric: str | None = None
    noise: float | None = Field(default=0.1, ge=0)
    missing: float | None = Field(default=0.1, ge=0, le=1)
    unseen: float | None = Field(default=0.1, ge=0, le=1)
    out_of_range: float | None = Field(default=0.05, ge=0, le=1)
    max_drop: float = Field(default=0.05, ge=0)


class InvarianceSpec(_Section):
    feature: str
    values: list[Any] | None = None
    tolerance: float = Field(default=1e-6, ge=0)
    max_change_rate: float = Field(default=0.0, ge=0, le=1)


class DirectionalSpec(_Section):
    feature: str
    direction: Literal["increase", "decrease"] = "increase"
    expect: Literal["non_decreasing", "non_increasing", "increasing", "decreasing"]
    delta: float | None = Field(default=None, gt=0)
    tolerance: float = Field(default=1e-9, ge=0)
    max_violation_rate: float = Field(default=0.0, ge=0, le=1)


class BudgetPolicy(_Section):
    p99_ms: float | None = Field(default=None, gt=0)
    size_mb: float | None = Field(default=None, gt=0)
    load_memory_mb: float | None = Field(default=None, gt=0)
    min_rows_per_s: float | None = Field(default=None, gt=0)
    latency_requests: int = Field(default=200, ge=10, le=100000)
    batch_size: int = Field(default=1024, ge=1)
    time_limit_s: float = Field(default=5.0, gt=0)


class SkewPolicy(_Section):
    max_drift_share: float = Field(default=0.3, gt=0, le=1)
    columns: list[str] | None = None


class SchemaPolicy(_Section):
    pass


class SmokePolicy(_Section):
    rows: int = Field(default=8, ge=1, le=1000)
    timeout_s: float = Field(default=60.0, gt=0)


class CheckPolicy(_Section):
    """A parsed policy. Sections left ``None`` do not run (or run informationally)."""

    label: str | None = None
    seed: int = 0
    metrics: dict[str, MetricThreshold] = Field(default_factory=dict)
    baseline: BaselinePolicy | None = None
    slices: SlicePolicy | None = None
    robustness: RobustnessPolicy | None = None
    invariance: list[InvarianceSpec] = Field(default_factory=list)
    directional: list[DirectionalSpec] = Field(default_factory=list)
    budgets: BudgetPolicy | None = None
    skew: SkewPolicy | None = None
    schema_: SchemaPolicy | None = Field(default=None, alias="schema")
    smoke: SmokePolicy | None = None
    custom: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("metrics", mode="before")
    @classmethod
    def _metric_shorthand(cls, v: Any) -> Any:
        from mainsail.checks._metrics import METRICS, metric_names

        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("metrics must map metric names to {min: ..} or {max: ..}")
        out = {}
        for name, spec in v.items():
            if name not in METRICS:
                raise ValueError(
                    f"unknown metric {name!r}. Valid metrics are: {', '.join(metric_names())}"
                )
            if isinstance(spec, int | float) and not isinstance(spec, bool):
                spec = {"min" if METRICS[name].higher_is_better else "max": float(spec)}
            out[name] = spec
        return out

    def configured(self) -> list[str]:
        """Policy keys of the checks this policy turns on, in a stable order."""
        keys = []
        for key in ("metrics", "baseline", "slices", "robustness", "invariance", "directional"):
            if getattr(self, key):
                keys.append(key)
        for key in ("budgets", "skew"):
            if getattr(self, key) is not None:
                keys.append(key)
        if self.schema_ is not None:
            keys.append("schema")
        if self.smoke is not None:
            keys.append("smoke")
        return keys + list(self.custom)

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for key in ("metrics", "invariance", "directional", "custom"):
            if not data.get(key):
                data.pop(key, None)
        return data


_TOGGLES = ("baseline", "robustness", "budgets", "skew", "schema", "smoke")
_BUILTIN = (
    "metrics",
    "baseline",
    "slices",
    "robustness",
    "invariance",
    "directional",
    "budgets",
    "skew",
    "schema",
    "smoke",
)


def load_policy(
    policy: str | os.PathLike[str] | dict[str, Any] | CheckPolicy | None,
) -> CheckPolicy:
    """Parse a policy from a YAML path, a YAML string, a dict or a :class:`CheckPolicy`.

    Examples
    --------
    >>> p = load_policy({"label": "churned", "metrics": {"roc_auc": {"min": 0.8}}, "smoke": True})
    >>> p.configured()
    ['metrics', 'smoke']
    """
    from mainsail.checks._types import available_checks

    if policy is None:
        return CheckPolicy.model_validate({})
    if isinstance(policy, CheckPolicy):
        return policy
    if isinstance(policy, str | os.PathLike):
        raw = _read_yaml(policy)
    elif isinstance(policy, dict):
        raw = dict(policy)
    else:
        raise InvalidValueError(
            "Expected a policy as a YAML file path, a dict or a CheckPolicy. "
            f"Got {type(policy).__name__}."
        )
    known = {"label", "seed", *available_checks()}
    unknown = [k for k in raw if k not in known]
    if unknown:
        raise InvalidValueError(
            f"Unknown check(s) in the policy: {', '.join(map(repr, unknown))}. Valid checks are: "
            f"{', '.join(available_checks())} (plus 'label' and 'seed')."
        )
    data: dict[str, Any] = {"custom": {}}
    for key, value in raw.items():
        if key not in _BUILTIN and key not in ("label", "seed"):
            data["custom"][key] = value
            continue
        if key in _TOGGLES and isinstance(value, bool):
            if value:
                data[key] = {}
            continue
        data[key] = value
    try:
        return CheckPolicy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidValueError(
            f"The release-check policy is not valid: {problems}. See the example in "
            "mainsail.checks._policy (or the README section 'Release checks')."
        ) from None


def _read_yaml(source: str | os.PathLike[str]) -> dict[str, Any]:
    from mainsail.core._optional import import_optional

    yaml = import_optional("yaml", extra="checks", package="pyyaml")
    path = Path(source)
    text = str(source)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        if not path.is_file():
            raise InvalidValueError(f"Expected a policy file at '{source}'. Nothing is there.")
        text = path.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"The policy is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidValueError(
            f"Expected the policy to be a mapping of check names to settings. Got {type(data).__name__}."
        )
    return data
