"""Generic python-function flavor, in the spirit of MLflow's pyfunc.

Subclass :class:`PythonModel`, implement ``predict(context, model_input)`` and optionally
``load_context(context)``. The object is serialised with cloudpickle, so registering one
needs ``allow_pickle=True``; files it needs go in ``artifacts``.
"""

from __future__ import annotations

import abc
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError
from mainsail.core._optional import import_optional

FILE = "python_model.pkl"


@dataclass
class PythonModelContext:
    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel(abc.ABC):
    """Base class for custom models: ``load_context`` once, then ``predict`` per batch."""

    def load_context(self, context: PythonModelContext) -> None:  # noqa: B027 - optional hook
        """Load anything the model needs from ``context.artifacts`` (paths)."""

    @abc.abstractmethod
    def predict(self, context: PythonModelContext, model_input: pd.DataFrame) -> Any:
        """Predictions for ``model_input`` (one row per input row)."""


class PyfuncRuntime:
    flavor: ClassVar[str] = "pyfunc"
    requires: ClassVar[tuple[str, ...]] = ("cloudpickle",)
    detect_order: ClassVar[int] = 90  # anything with predict + load_context: the last resort
    takes_artifacts: ClassVar[bool] = True

    def __init__(self) -> None:
        self.model: Any = None
        self.context = PythonModelContext()

    @classmethod
    def supports(cls, model: Any) -> bool:
        return isinstance(model, PythonModel) or (
            callable(getattr(model, "predict", None)) and hasattr(model, "load_context")
        )

    @classmethod
    def save(
        cls, model: Any, folder: Path, allow_pickle: bool, artifacts: dict[str, str] | None = None
    ) -> dict[str, Any]:
        if not allow_pickle:
            raise InvalidValueError(
                "A python-function model is stored with cloudpickle, which runs code when "
                "loaded. Pass allow_pickle=True to register it (this is recorded on the version)."
            )
        cloudpickle = import_optional("cloudpickle", extra="pyfunc")
        (folder / FILE).write_bytes(cloudpickle.dumps(model))
        stored: dict[str, str] = {}
        for key, src in (artifacts or {}).items():
            src_path = Path(src)
            dest = folder / "artifacts" / key
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src_path.is_dir():
                shutil.copytree(src_path, dest)
            else:
                shutil.copy2(src_path, dest)
            stored[key] = f"artifacts/{key}"
        return {"file": FILE, "artifacts": stored, "task": "other", "classes": None}

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        cloudpickle = import_optional("cloudpickle", extra="pyfunc")
        self.model = cloudpickle.loads((folder / meta["file"]).read_bytes())
        self.context = PythonModelContext(
            artifacts={k: str(folder / v) for k, v in meta.get("artifacts", {}).items()}
        )
        self.model.load_context(self.context)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self.context, X))

    @property
    def has_proba(self) -> bool:
        return hasattr(self.model, "predict_proba")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.context, X))

    def unload(self) -> None:
        self.model = None

    def metadata(self) -> dict[str, Any]:
        return {"class": f"{type(self.model).__module__}.{type(self.model).__name__}"}
