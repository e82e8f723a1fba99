"""The one interface every model flavor implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class Runtime(Protocol):
    """A model flavor: saves a model object to a folder and serves it back.

    ``save`` is a classmethod writing the flavor's own files and returning metadata
    (JSON-safe) that ``load`` receives again. Formats that execute code on load are
    only used when the caller passed ``allow_pickle=True``.

    ``save`` returns what the model's manifest records for the flavor: JSON-safe, with
    ``task`` (classification, regression or other) and ``classes`` (the labels in the
    order of ``predict_proba``, or ``None``). The class is built without arguments.

    A flavor may also define ``predict_both(X) -> (predictions, probabilities) | None``:
    both from one model call when its ``predict`` is the argmax of ``predict_proba``
    (the server then logs probabilities for free); ``None`` means "call both". And two
    optional class attributes: ``detect_order`` (when ``supports`` is asked while
    detecting a model's flavor, lower first; default 50, catch-alls later) and
    ``takes_artifacts`` (``save`` accepts ``artifacts=``: files stored with the model).

    Register one with :func:`mainsail.runtimes.register_flavor` or an entry point in the
    ``mainsail.flavors`` group; :func:`mainsail.runtimes.check_runtime` checks it.
    """

    flavor: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]  # pip package names, recorded as requirements

    @classmethod
    def supports(cls, model: Any) -> bool: ...

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]: ...

    def load(self, folder: Path, meta: dict[str, Any]) -> None: ...

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...

    @property
    def has_proba(self) -> bool: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...

    def unload(self) -> None: ...

    def metadata(self) -> dict[str, Any]: ...


def task_of(model: Any) -> tuple[str, list[Any] | None]:
    """("classification", classes) or ("regression", None) for sklearn-like models."""
    classes = getattr(model, "classes_", None)
    estimator_type = getattr(model, "_estimator_type", None)
    try:
        from sklearn.base import is_classifier, is_regressor

        if is_classifier(model):
            estimator_type = "classifier"
        elif is_regressor(model):
            estimator_type = "regressor"
    except Exception:  # noqa: BLE001 - not an sklearn object
        pass
    if estimator_type == "classifier" or classes is not None:
        return "classification", [_py(c) for c in classes] if classes is not None else None
    if estimator_type == "regressor":
        return "regression", None
    return "other", None


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def feature_importance(model: Any, names: list[str]) -> dict[str, float] | None:
    """Feature importances or |coefficients| when the model exposes them."""
    est = model
    if hasattr(model, "steps"):
        est = model.steps[-1][1]
    imp = getattr(est, "feature_importances_", None)
    if imp is None:
        coef = getattr(est, "coef_", None)
        if coef is None:
            return None
        imp = (
            np.abs(np.asarray(coef)).reshape(-1, len(names)).mean(axis=0)
            if np.size(coef) % max(len(names), 1) == 0
            else None
        )
    if imp is None or len(imp) != len(names):
        return None
    return {n: float(v) for n, v in zip(names, imp, strict=True)}
