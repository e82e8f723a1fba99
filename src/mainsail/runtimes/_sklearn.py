"""scikit-learn flavor, saved with skops (no pickle): trusted types declared and stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._errors import CorruptedArtifactError
from mainsail.runtimes._protocol import task_of

FILE = "model.skops"


class SklearnRuntime:
    flavor: ClassVar[str] = "sklearn"
    requires: ClassVar[tuple[str, ...]] = ("scikit-learn", "skops")
    detect_order: ClassVar[int] = 80  # any scikit-learn estimator: after specific formats

    def __init__(self) -> None:
        self.model: Any = None
        self._argmax = False  # predict is the argmax of predict_proba (decided at load)

    @classmethod
    def supports(cls, model: Any) -> bool:
        try:
            from sklearn.base import BaseEstimator
        except ImportError:  # pragma: no cover - sklearn is a core dependency
            return False
        mod = type(model).__module__
        if mod.startswith(("xgboost", "lightgbm")):
            return False
        return isinstance(model, BaseEstimator)

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        import skops.io as sio

        data = sio.dumps(model)
        (folder / FILE).write_bytes(data)
        trusted = sorted(sio.get_untrusted_types(data=data))
        task, classes = task_of(model)
        return {"file": FILE, "trusted_types": trusted, "task": task, "classes": classes}

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        data = (folder / meta.get("file", FILE)).read_bytes()
        trusted = list(meta.get("trusted_types", []))
        try:  # skops refuses any type outside ``trusted``: that is the check
            self.model = sio.loads(data, trusted=trusted)
        except UntrustedTypesFoundException as exc:
            raise CorruptedArtifactError(
                f"The skops file holds types that were not trusted at registration ({exc}). "
                "Refusing to load it."
            ) from None
        self._argmax = _predicts_argmax(self.model)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(X))

    @property
    def has_proba(self) -> bool:
        return hasattr(self.model, "predict_proba")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X))

    def predict_both(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
        """Predictions and probabilities from one pass, or ``None`` when that could differ.

        Tree and ensemble classifiers in scikit-learn predict the class of highest
        probability (``classes_[argmax(predict_proba)]``, in their own source), so the server
        logs probabilities at no extra model call. Others (SVMs, whose Platt probabilities
        can disagree with ``predict``; linear models, thresholded on the decision function)
        keep two calls.
        """
        if not self._argmax:  # decided once at load, not on every batch
            return None
        raw = self.model.predict_proba(X)
        classes = np.asarray(self.model.classes_)
        if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.shape[1] != len(classes):
            return None  # e.g. one array per output: no single argmax to give
        return classes[raw.argmax(axis=1)], raw

    def unload(self) -> None:
        self.model = None

    def metadata(self) -> dict[str, Any]:
        return {"class": f"{type(self.model).__module__}.{type(self.model).__name__}"}


_ARGMAX_MODULES = ("sklearn.ensemble", "sklearn.tree")
#: In those modules, but ``predict`` is not the argmax of ``predict_proba``: stacking asks
#: its final estimator (a logistic regression thresholds its decision function).
_NOT_ARGMAX = ("StackingClassifier",)


def _predicts_argmax(model: Any) -> bool:
    # Hard voting has no predict_proba (soft voting predicts its argmax); multi-output
    # trees and forests return one probability array per output.
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return (
        type(final).__module__.startswith(_ARGMAX_MODULES)
        and type(final).__name__ not in _NOT_ARGMAX
        and hasattr(final, "predict_proba")
        and hasattr(model, "classes_")
        and getattr(final, "n_outputs_", 1) == 1
    )
