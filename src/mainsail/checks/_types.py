"""Release-check records and the one protocol every check implements.

A check is a small class with a ``name`` and ``run(context) -> list[CheckOutcome]``,
registered by policy key (:mod:`mainsail.checks._registry`) and imported lazily, so
``import mainsail`` stays light. :class:`CheckResult` is what ``mainsail.check`` records on
a model version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from mainsail.core._errors import InvalidValueError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mainsail.checks._policy import CheckPolicy
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.registry._registry import LoadedModel
    from mainsail.store._context import Context

Status = Literal["pass", "fail", "inconclusive"]
Verdict = Literal["blessed", "rejected"]


class CheckOutcome(BaseModel):
    """One judged quantity: its value, the threshold it was held to, and the outcome.

    ``threshold`` is ``None`` for informational outcomes (nothing was configured); those
    never bless a version.
    """

    name: str
    kind: str
    status: Status
    value: float | None = None
    threshold: float | None = None
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def judged(self) -> bool:
        return self.threshold is not None


class CheckResult(BaseModel):
    """The outcome of release checks on one model version, as recorded in the store.

    Examples
    --------
    >>> r = mainsail.check("models:/churn/4", "datasets:/churn-holdout/2")  # doctest: +SKIP
    >>> r.verdict, [c.name for c in r.checks if c.status == "fail"]  # doctest: +SKIP
    ('rejected', ['metrics.roc_auc'])
    """

    id: int = 0
    model: str
    version: int
    verdict: Verdict
    blessed: bool
    baseline_version: int | None = None
    checks: list[CheckOutcome] = Field(default_factory=list)
    reason: str = ""
    data_ref: str | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    report_digest: str | None = None
    html_digest: str | None = None
    created_at: int = 0
    created_by: str | None = None

    @property
    def address(self) -> str:
        return f"models:/{self.model}/{self.version}"

    @property
    def failed(self) -> list[CheckOutcome]:
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def html(self) -> str:
        """A self-contained HTML report (what ``--out`` writes as report.html)."""
        from mainsail.checks._report import render_html

        return render_html(self)

    def markdown(self) -> str:
        """A Markdown summary, e.g. for a pull-request comment."""
        from mainsail.checks._report import render_markdown

        return render_markdown(self)


@dataclass
class CheckContext:
    """Everything a check may use. Built once by ``mainsail.check``; checks only read it."""

    ctx: Context
    version: ModelVersion
    model: LoadedModel
    X: pd.DataFrame
    y: pd.Series | None
    policy: CheckPolicy
    frame: pd.DataFrame | None = None
    label: str | None = None
    baseline_version: ModelVersion | None = None
    baseline: LoadedModel | None = None
    data_ref: str | None = None
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.version.task

    def predictions(self, which: str = "candidate") -> tuple[np.ndarray, np.ndarray | None]:
        """Labels and (when the model has them) class probabilities on ``X``, cached."""
        key = f"pred:{which}"
        if key not in self.cache:
            model = self.model if which == "candidate" else self.baseline
            if model is None:
                raise InvalidValueError("No baseline model to predict with.")
            data = self.X if which == "candidate" or self.frame is None else self.frame
            self.cache[key] = predict_both(model, data)
        out: tuple[np.ndarray, np.ndarray | None] = self.cache[key]
        return out


def predict_both(model: LoadedModel, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    import numpy as np

    frame = model.prepare(X)
    pred = np.asarray(model.runtime.predict(frame))
    proba = None
    if model.version.task == "classification" and model.has_proba:
        proba = np.asarray(model.runtime.predict_proba(frame), dtype="float64")
    return pred, proba


@runtime_checkable
class Check(Protocol):
    """A release check: ``run`` returns one or more outcomes; it never raises on a bad model.

    A check raises :class:`~mainsail.core.MainsailError` only for bad *configuration*
    (an unknown column, say); a model that crashes or is slow is a ``fail`` outcome. Its
    class is built with its parsed policy section (``cls(config)``, None when it runs
    unconfigured) and may declare ``config_model``, ``order``, ``needs_label``, ``enabled`` and
    ``informational`` (see :mod:`mainsail.checks._registry`). Outcomes carry the policy
    key as their ``kind``: only judged outcomes of configured kinds bless a version.
    """

    name: str

    def run(self, context: CheckContext) -> list[CheckOutcome]: ...
