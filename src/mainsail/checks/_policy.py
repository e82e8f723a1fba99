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
    capacity: {p99_ms: 50, min_rps: 500} # the stored load-test curve (mainsail loadtest)
    explanations:                       # what the model relies on (mean |SHAP|)
      top_k: 5
      min_overlap: 0.6                  # share of the baseline's top-k kept in the candidate's
      forbidden: [customer_id]          # features that must not drive predictions
      max_forbidden_share: 0.05         # largest share of importance one of them may carry

Metric names: classification ``accuracy, balanced_accuracy, f1, precision, recall,
roc_auc, log_loss, brier``; regression ``rmse, mse, mae, r2``.

Each section is parsed by the check registered under its key, with the config type that
check declares (:mod:`mainsail.checks._registry`): the models below are the built-in
checks' configs, and a third-party check brings its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from mainsail.checks._registry import (
    CHECKS,
    DEFAULT_ORDER,
    RESERVED,
    available_checks,
    check_spec,
)
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


def _metric_shorthand(v: Any) -> Any:
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


MetricsConfig = Annotated[dict[str, MetricThreshold], BeforeValidator(_metric_shorthand)]
"""The ``metrics`` section: metric name -> bounds; a bare number is the bound in the good
direction (``roc_auc: 0.8`` is ``{min: 0.8}``)."""


class CheckPolicy(BaseModel):
    """A parsed policy: the label, the seed and each configured check's section.

    ``sections`` maps each check the policy turns on to its section, parsed with the type
    that check declares; a section that is off (``schema: false``, ``metrics: {}``) is not
    there. ``policy.metrics`` (any check's key) reads a section, None when it is off.

    Examples
    --------
    >>> p = CheckPolicy.model_validate({"label": "y", "metrics": {"roc_auc": 0.8}})
    >>> p.configured(), p.metrics["roc_auc"].min
    (['metrics'], 0.8)
    """

    label: str | None = None
    seed: int = 0
    sections: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _parse_sections(cls, data: Any, info: ValidationInfo) -> Any:
        """A policy as written (``{label, seed, <check key>: section, ...}``) becomes
        ``{label, seed, sections}``; every section is parsed by its check's config type.

        With the validation context ``{"unknown": "keep"}`` a section no registered check
        claims is kept as written (a result recorded by a client that ran its own checks);
        otherwise it is an error listing the valid checks.
        """
        if not isinstance(data, dict) or "sections" in data:
            return data
        keep = (info.context or {}).get("unknown") == "keep"
        source = (info.context or {}).get("source")
        raw = dict(data)
        out: dict[str, Any] = {k: raw.pop(k) for k in RESERVED if k in raw}
        legacy = raw.pop("custom", None) if "custom" not in CHECKS else None
        if isinstance(legacy, dict):  # results recorded before checks were plug-ins
            raw = {**raw, **legacy}
        unknown = [k for k in raw if k not in CHECKS]
        if unknown and not keep:
            valid = ", ".join(available_checks())
            where = f" file '{source}'" if source else ""
            raise InvalidValueError(
                f"Unknown check(s) in the policy{where}: {', '.join(map(repr, unknown))}. "
                "Valid checks "
                f"are: {valid} (plus 'label' and 'seed'). Register others with "
                "mainsail.checks.register_check(name, 'module:Class')."
            )
        sections: dict[str, Any] = {}
        problems: list[str] = []
        for key, value in raw.items():
            if key not in CHECKS:
                if value is not None and value is not False:
                    sections[key] = value
                continue
            try:
                parsed = check_spec(key).parse(value)
            except ValidationError as exc:
                problems += [_problem(key, e) for e in exc.errors()]
                continue
            if parsed is not None:
                sections[key] = parsed
        if problems:
            raise InvalidValueError(_invalid("; ".join(problems), source))
        out["sections"] = sections
        return out

    def __getattr__(self, item: str) -> Any:
        # policy.metrics, policy.schema_ (the old field names): a check's section or None
        if not item.startswith("_"):
            key = item[:-1] if item.endswith("_") else item
            sections = self.__dict__.get("sections")
            if sections is not None and (key in sections or key in CHECKS):
                return sections.get(key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {item!r}")

    def section(self, key: str) -> Any:
        """The parsed section of the check ``key``, or None when the policy leaves it off."""
        return self.sections.get(key)

    def configured(self) -> list[str]:
        """Keys of the checks this policy turns on, in the order they run."""
        return sorted(self.sections, key=_order)

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON data, in the shape :func:`load_policy` reads."""
        data: dict[str, Any] = {"seed": self.seed}
        if self.label is not None:
            data = {"label": self.label, **data}
        for key in self.configured():
            value = self.sections[key]
            data[key] = check_spec(key).dump(value) if key in CHECKS else value
        return data


def _order(key: str) -> int:
    return check_spec(key).order if key in CHECKS else DEFAULT_ORDER


def _problem(key: str, error: Any) -> str:
    """One pydantic error as ``section.setting: what is wrong``, with the valid settings
    when the setting is not one the check knows."""
    loc = ".".join(map(str, (key, *error["loc"])))
    msg = str(error["msg"]).removeprefix("Value error, ")
    config = check_spec(key).config
    if error["type"] == "extra_forbidden" and len(error["loc"]) == 1 and check_spec(key).toggles:
        msg = f"{loc.rsplit('.', 1)[-1]!r} is not a setting of {key!r}. Valid settings are: "
        msg += ", ".join(f.alias or name for name, f in config.model_fields.items())
    return f"{loc}: {msg}"


def _invalid(problems: str, source: str | None = None) -> str:
    where = f" in '{source}'" if source else ""
    return (
        f"The release-check policy{where} is not valid: {problems}. Fix these keys; the "
        "README section 'Release checks' shows every check and its settings."
    )


def load_policy(
    policy: str | os.PathLike[str] | dict[str, Any] | CheckPolicy | None,
    *,
    unknown: Literal["error", "keep"] = "error",
) -> CheckPolicy:
    """Parse a policy from a YAML path, a YAML string, a dict or a :class:`CheckPolicy`.

    ``unknown="keep"`` keeps sections no registered check claims, as written (the server
    does this for a result a client computed with its own checks).

    Examples
    --------
    >>> p = load_policy({"label": "churned", "metrics": {"roc_auc": {"min": 0.8}}, "smoke": True})
    >>> p.configured()
    ['metrics', 'smoke']
    """
    if policy is None:
        return CheckPolicy()
    if isinstance(policy, CheckPolicy):
        return policy
    source: str | None = None
    if isinstance(policy, str | os.PathLike):
        raw = _read_yaml(policy)
        if _is_file_name(policy):
            source = str(policy)
    elif isinstance(policy, dict):
        raw = dict(policy)
    else:
        raise InvalidValueError(
            "Expected a policy as a YAML file path, a dict or a CheckPolicy. "
            f"Got {type(policy).__name__}."
        )
    if "sections" in raw:
        raise InvalidValueError(
            "'sections' is not a check. A policy maps check names to their settings, e.g. "
            "{label: churned, metrics: {roc_auc: {min: 0.8}}}."
        )
    try:
        return CheckPolicy.model_validate(raw, context={"unknown": unknown, "source": source})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidValueError(_invalid(problems, source)) from None


def _is_file_name(source: str | os.PathLike[str]) -> bool:
    path = Path(source)
    return path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists()


def _read_yaml(source: str | os.PathLike[str]) -> dict[str, Any]:
    from mainsail.core._optional import import_optional

    yaml = import_optional("yaml", extra="checks", package="pyyaml")
    path = Path(source)
    text = str(source)
    what = "The policy text"
    if _is_file_name(source):
        if not path.is_file():
            raise InvalidValueError(f"Expected a policy file at '{source}'. Nothing is there.")
        text = path.read_text()
        what = f"The policy file '{source}'"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"{what} is not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidValueError(
            f"Expected {what[4:]} to be a mapping of check names to settings "
            f"(e.g. 'metrics: {{roc_auc: {{min: 0.8}}}}'). Got {type(data).__name__}."
        )
    return data


def _yaml_problem(exc: Exception) -> str:
    """``line 3, column 12: expected ',' or '}', but got ...`` (PyYAML's own message names
    an anonymous ``<unicode string>``)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else str(problem)
    if mark is None:
        return text
    return f"line {mark.line + 1}, column {mark.column + 1}: {text}"
