"""The nouns of progressive delivery: variants, revisions, endpoints, rollouts, specs, reports."""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STATES = ("pending", "progressing", "paused", "promoted", "rolled_back", "aborted")
ACTIVE_STATES = ("pending", "progressing", "paused")
CONTROLLER_GRACE_MS = 10_000  # a due step left this long means no rollout controller runs

#: A variant's role names what it is for in its strategy ("stable", "canary", "preview",
#: "shadow", "arm", or a plug-in strategy's own). Each strategy declares the roles it uses
#: (``Strategy.roles``). Two have a meaning in the data plane: the ``stable`` variant answers
#: by default, and ``shadow`` variants only get copies of requests.
Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Variant(BaseModel):
    """One model version behind an endpoint, with its share of traffic and its role."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str
    version: int
    weight: float = Field(default=100.0, ge=0, le=100)
    role: Role = "stable"

    @property
    def address(self) -> str:
        return f"models:/{self.model}/{self.version}"


class Revision(BaseModel):
    """An immutable set of variants and the strategy that created it."""

    model_config = ConfigDict(frozen=True)

    revision: int
    variants: list[Variant]
    strategy: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    created_at: int
    created_by: str | None = None

    def variant(self, role: str) -> Variant | None:
        return next((v for v in self.variants if v.role == role), None)


class Endpoint(BaseModel):
    """A stable serving name (the V2 model name) and its revisions, newest last."""

    model_config = ConfigDict(frozen=True)

    name: str
    revision: int
    variants: list[Variant]
    history: list[Revision] = Field(default_factory=list)
    created_at: int
    updated_at: int

    @property
    def current(self) -> Revision:
        return next(r for r in self.history if r.revision == self.revision)


class AnalysisCheck(BaseModel):
    """One analysis check at one step: pass, fail or inconclusive (too few samples).

    Not to be confused with :class:`mainsail.checks.CheckResult`, a release-check result.
    """

    name: str
    status: Literal["pass", "fail", "inconclusive"]
    value: float | None = None
    threshold: float | None = None
    samples: int = 0
    message: str = ""


class StepAnalysis(BaseModel):
    step: int
    weight: float
    ts: int
    checks: list[AnalysisCheck]
    outcome: str  # advance | hold | failed | rollback | promote | webhook | smoke


class Rollout(BaseModel):
    """How traffic moves from one revision to another, and where it is now."""

    model_config = ConfigDict(frozen=True)

    id: int
    endpoint: str
    strategy: str
    state: Literal["pending", "progressing", "paused", "promoted", "rolled_back", "aborted"]
    step: int
    weight: float
    failed_checks: int
    analysis: list[dict[str, Any]]
    message: str | None
    source: str | None
    spec: dict[str, Any]
    from_revision: int | None
    to_revision: int | None
    next_at: int | None
    created_at: int
    updated_at: int
    finished_at: int | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def waiting_for_controller(
        self, now_ms: int, grace_ms: int = CONTROLLER_GRACE_MS
    ) -> str | None:
        """Why this rollout is not moving when no rollout controller acts on it, else ``None``.

        A running controller analyses a step within a second of it falling due (and starts a
        pending rollout at once); a step overdue by more than ``grace_ms`` means none runs.
        """
        if self.state == "pending":
            late = now_ms - self.updated_at
        elif self.state == "progressing" and self.next_at is not None:
            late = now_ms - self.next_at
        else:
            return None
        if late <= grace_ms:
            return None
        what = "has not started" if self.state == "pending" else f"step {self.step} was due"
        return (
            f"Waiting for a controller: rollout {self.id} {what} {late / 1000:.0f} s ago and no "
            "rollout controller has acted on it, so none seems to be running. Start one with "
            "'mainsail controllers run' (or 'mainsail server', which runs them), against the "
            "same store; or move it by hand with mainsail rollout promote|abort "
            f"{self.endpoint}."
        )


class RolloutSpec(BaseModel):
    """Every knob of a rollout; each strategy reads the fields it needs.

    Field names follow Flagger / Argo Rollouts: ``step_weight``, ``max_weight``, ``interval``,
    ``threshold`` and the webhooks ``pre_rollout``, ``confirm_promotion``, ``post_rollout``,
    ``rollback``.

    Examples
    --------
    >>> RolloutSpec(steps=[5, 25, 50, 100], interval=30, max_p99_ms=50).canary_weights()
    [5.0, 25.0, 50.0, 100.0]
    """

    model_config = ConfigDict(extra="forbid")

    # canary traffic steps
    step_weight: float = Field(default=20, gt=0, le=100)
    max_weight: float = Field(default=100, gt=0, le=100)
    steps: list[float] | None = None
    interval: float = Field(default=60, gt=0, description="Seconds per step.")
    threshold: int = Field(default=2, ge=1, description="Failed checks before rollback.")
    # analysis
    min_requests: int = Field(default=20, ge=0)
    min_success_rate: float | None = Field(default=0.99, ge=0, le=1)
    max_p99_ms: float | None = Field(default=None, gt=0)
    max_p99_ratio: float | None = Field(default=None, gt=0)
    max_prediction_divergence: float | None = Field(default=None, ge=0)
    min_accuracy_delta: float | None = None
    min_feedback: int = Field(default=30, ge=1)
    # blue-green
    rollback_window: float = Field(default=60, ge=0, description="Seconds the old one stays warm.")
    post_promotion_interval: float | None = Field(default=None, gt=0)
    # A/B and shadow
    weights: list[float] | None = None
    key_header: str = "x-mainsail-key"
    key_field: str | None = None
    sample: float = Field(default=1.0, gt=0, le=1)
    # smoke requests (blue-green's pre-promotion analysis): rows of the target's reference
    # sample sent to the preview, so the switch decides on evidence, not on silence
    smoke_url: str | None = Field(
        default=None,
        description="Base URL of a data plane serving the endpoint (http://host:port); the "
        "controller sends the preview its smoke requests there.",
    )
    smoke_requests: int | None = Field(
        default=None, ge=1, description="Smoke requests per analysis (default: min_requests)."
    )
    # webhooks: HTTP POST with a JSON body
    pre_rollout: str | None = None
    confirm_promotion: str | None = None
    post_rollout: str | None = None
    rollback: str | None = None
    webhook_timeout: float = Field(default=5.0, gt=0)

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if not v or any(not 0 < w <= 100 for w in v) or sorted(v) != v:
            raise ValueError(f"steps must be increasing weights in (0, 100]; got {v}")
        return v

    @model_validator(mode="after")
    def _weights_ok(self) -> RolloutSpec:
        if self.weights is not None and (
            len(self.weights) < 2 or any(w < 0 for w in self.weights) or sum(self.weights) <= 0
        ):
            raise ValueError(
                f"weights must be two or more non-negative numbers; got {self.weights}"
            )
        return self

    def canary_weights(self) -> list[float]:
        """The canary weight at each step (the last one is followed by promotion)."""
        if self.steps:
            return [float(w) for w in self.steps if w <= self.max_weight] or [self.max_weight]
        out, w = [], self.step_weight
        while w < self.max_weight:
            out.append(float(w))
            w += self.step_weight
        out.append(float(self.max_weight))
        return out


class Comparison(BaseModel):
    """A difference between two arms with its confidence interval and p-value."""

    metric: str
    test: str  # two-proportion z | welch t
    a: float | None
    b: float | None
    n_a: int
    n_b: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    min_sample_size: int | None
    significant: bool


class ABReport(BaseModel):
    endpoint: str
    arms: list[str]
    requests: dict[str, int]
    comparisons: list[Comparison]
    alpha: float = 0.05


class ShadowReport(BaseModel):
    endpoint: str
    stable: str | None
    shadow: str | None
    compared: int
    agreement: float | None
    mean_abs_diff: float | None
    divergence: float | None
    stable_p99_ms: float | None
    shadow_p99_ms: float | None
    shadow_p50_ms: float | None
    shadow_errors: int
    dropped: int


def __getattr__(name: str) -> Any:
    if name == "CheckResult":
        warnings.warn(
            "mainsail.rollout.CheckResult is deprecated: it is now AnalysisCheck (the name "
            "CheckResult is the release checks' result, mainsail.CheckResult).",
            DeprecationWarning,
            stacklevel=2,
        )
        return AnalysisCheck
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
