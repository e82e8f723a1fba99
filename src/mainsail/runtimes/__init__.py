"""Model flavors behind one ``Runtime`` protocol, registered by name and imported lazily."""

from __future__ import annotations

import importlib
from typing import Any

from mainsail.core._errors import InvalidValueError, UnsupportedModelError
from mainsail.runtimes._protocol import Runtime, feature_importance, task_of
from mainsail.runtimes._pyfunc import PythonModel, PythonModelContext

_FLAVORS: dict[str, str] = {
    "xgboost": "mainsail.runtimes._boosting:XGBoostRuntime",
    "lightgbm": "mainsail.runtimes._boosting:LightGBMRuntime",
    "onnx": "mainsail.runtimes._onnx:OnnxRuntime",
    "sklearn": "mainsail.runtimes._sklearn:SklearnRuntime",
    "pyfunc": "mainsail.runtimes._pyfunc:PyfuncRuntime",
}


def register_flavor(name: str, target: str) -> None:
    """Register a flavor class by ``"module:Class"`` path (imported only when used)."""
    _FLAVORS[name] = target


def get_runtime_class(name: str) -> type[Any]:
    target = _FLAVORS.get(name)
    if target is None:
        raise InvalidValueError(
            f"Unknown model flavor {name!r}. Known flavors: {', '.join(sorted(_FLAVORS))}."
        )
    module, cls = target.split(":")
    runtime: type[Any] = getattr(importlib.import_module(module), cls)
    return runtime


def detect_flavor(model: Any) -> str:
    """The first flavor whose ``supports`` accepts ``model`` (specific ones first)."""
    for name in _FLAVORS:
        if get_runtime_class(name).supports(model):
            return name
    raise UnsupportedModelError(
        f"No flavor supports a {type(model).__module__}.{type(model).__name__} object. "
        f"Supported: scikit-learn estimators and Pipelines, XGBoost and LightGBM models, "
        f"ONNX ModelProto, and mainsail.runtimes.PythonModel subclasses (flavors: "
        f"{', '.join(sorted(_FLAVORS))}). Wrap other models in a PythonModel."
    )


def flavors() -> list[str]:
    return sorted(_FLAVORS)


__all__ = [
    "PythonModel",
    "PythonModelContext",
    "Runtime",
    "detect_flavor",
    "feature_importance",
    "flavors",
    "get_runtime_class",
    "register_flavor",
    "task_of",
]
