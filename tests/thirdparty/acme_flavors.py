"""A third-party model flavor, outside Mainsail: linear coefficients in a numpy file.

It reaches Mainsail the way an installed package would, through an entry point in the
``mainsail.flavors`` group (``acme_flavors-1.0.dist-info/entry_points.txt`` next to this
module: a process with this folder on its path finds it), or in process with
``mainsail.runtimes.register_flavor``. Nothing here is pickled: the coefficients are a
``.npy`` file read with ``allow_pickle=False`` and the rest is JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

FLAVOR = "acme-linear"


class LinearCoefficients:
    """The model: ``y = X[columns] @ coef + intercept``."""

    def __init__(self, columns: list[str], coef: list[float], intercept: float = 0.0) -> None:
        if len(columns) != len(coef):
            raise ValueError(f"{len(columns)} columns but {len(coef)} coefficients")
        self.columns = list(columns)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)

    @classmethod
    def fit(cls, X: pd.DataFrame, y: Any) -> LinearCoefficients:
        """Least squares with an intercept."""
        A = np.column_stack([X.to_numpy(np.float64), np.ones(len(X))])
        solution, *_ = np.linalg.lstsq(A, np.asarray(y, dtype=np.float64), rcond=None)
        return cls(list(X.columns), solution[:-1].tolist(), float(solution[-1]))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(X[self.columns].to_numpy(np.float64) @ self.coef + self.intercept)


class LinearCoefficientsRuntime:
    """The flavor: saves a :class:`LinearCoefficients` and serves it back."""

    flavor: ClassVar[str] = FLAVOR
    requires: ClassVar[tuple[str, ...]] = ("numpy",)
    FILE = "coef.npy"

    def __init__(self) -> None:
        self.model: LinearCoefficients | None = None

    @classmethod
    def supports(cls, model: Any) -> bool:
        return isinstance(model, LinearCoefficients)

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        np.save(folder / cls.FILE, model.coef, allow_pickle=False)
        return {
            "file": cls.FILE,
            "columns": model.columns,
            "intercept": model.intercept,
            "task": "regression",
            "classes": None,
        }

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        coef = np.load(folder / meta["file"], allow_pickle=False)
        self.model = LinearCoefficients(meta["columns"], coef.tolist(), meta["intercept"])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("load() the model first")
        return self.model.predict(X)

    @property
    def has_proba(self) -> bool:
        return False

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError("a linear regression has no probabilities")

    def unload(self) -> None:
        self.model = None

    def metadata(self) -> dict[str, Any]:
        return {"coefficients": len(self.model.coef) if self.model is not None else 0}
