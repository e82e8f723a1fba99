"""Model flavors behind one ``Runtime`` protocol, registered by name and imported lazily."""

from __future__ import annotations

from mainsail.runtimes._flavors import (
    FLAVORS,
    check_flavor_meta,
    check_runtime,
    detect_flavor,
    flavors,
    get_runtime_class,
    register_flavor,
)
from mainsail.runtimes._protocol import Runtime, feature_importance, task_of
from mainsail.runtimes._pyfunc import PythonModel, PythonModelContext

__all__ = [
    "FLAVORS",
    "PythonModel",
    "PythonModelContext",
    "Runtime",
    "check_flavor_meta",
    "check_runtime",
    "detect_flavor",
    "feature_importance",
    "flavors",
    "get_runtime_class",
    "register_flavor",
    "task_of",
]
