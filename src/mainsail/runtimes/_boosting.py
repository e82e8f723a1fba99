"""XGBoost and LightGBM flavors in their native formats (JSON / text: no pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._optional import import_optional
from mainsail.runtimes._protocol import task_of


class XGBoostRuntime:
    flavor: ClassVar[str] = "xgboost"
    requires: ClassVar[tuple[str, ...]] = ("xgboost",)
    FILE = "model.ubj"

    def __init__(self) -> None:
        self.model: Any = None
        self.classes: list[Any] | None = None

    @classmethod
    def supports(cls, model: Any) -> bool:
        return type(model).__module__.startswith("xgboost")

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        model.save_model(str(folder / cls.FILE))
        task, classes = task_of(model)
        return {
            "file": cls.FILE,
            "class": type(model).__name__,
            "task": task,
            "classes": classes,
            "params": {
                k: v
                for k, v in model.get_params().items()
                if isinstance(v, int | float | str | bool)
            },
        }

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        xgb = import_optional("xgboost", extra="xgboost")
        cls = getattr(xgb, meta.get("class", "XGBModel"))
        self.model = cls()
        self.model.load_model(str(folder / meta["file"]))
        self.classes = meta.get("classes")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self.model.predict(X))
        if self.classes is not None and out.dtype.kind in "iu":
            return np.asarray(self.classes, dtype=object)[out].astype(type(self.classes[0]))
        return out

    @property
    def has_proba(self) -> bool:
        return hasattr(self.model, "predict_proba")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X))

    def unload(self) -> None:
        self.model = None

    def metadata(self) -> dict[str, Any]:
        return {"class": type(self.model).__name__}


class LightGBMRuntime:
    flavor: ClassVar[str] = "lightgbm"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm",)
    FILE = "model.txt"

    def __init__(self) -> None:
        self.booster: Any = None
        self.classes: list[Any] | None = None
        self.task = "regression"

    @classmethod
    def supports(cls, model: Any) -> bool:
        return type(model).__module__.startswith("lightgbm")

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        booster = model.booster_ if hasattr(model, "booster_") else model
        booster.save_model(str(folder / cls.FILE))
        task, classes = task_of(model)
        return {"file": cls.FILE, "task": task, "classes": classes}

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        lgb = import_optional("lightgbm", extra="lightgbm")
        self.booster = lgb.Booster(model_file=str(folder / meta["file"]))
        self.classes = meta.get("classes")
        self.task = meta.get("task", "regression")

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raw = self._raw(X)
        if self.task != "classification" or self.classes is None:
            return raw
        proba = self._proba_from(raw)
        return np.asarray(self.classes)[proba.argmax(axis=1)]

    def _proba_from(self, raw: np.ndarray) -> np.ndarray:
        if raw.ndim == 1:
            return np.column_stack([1 - raw, raw])
        return raw

    @property
    def has_proba(self) -> bool:
        return self.task == "classification"

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._proba_from(self._raw(X))

    def predict_both(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
        """Predictions and probabilities from one booster call (predict is their argmax)."""
        if self.task != "classification" or self.classes is None:
            return None
        proba = self._proba_from(self._raw(X))
        return np.asarray(self.classes)[proba.argmax(axis=1)], proba

    def unload(self) -> None:
        self.booster = None

    def metadata(self) -> dict[str, Any]:
        return {"num_trees": int(self.booster.num_trees()) if self.booster is not None else None}
