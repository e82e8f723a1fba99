"""The flavor registry: model flavors by name, loaded lazily, checked against the protocol.

Built-in flavors register here like anyone else's. A package adds its own with an entry
point in the ``mainsail.flavors`` group (``acme = acme.flavors:AcmeRuntime``), or in process
with :func:`register_flavor`; :func:`check_runtime` says what a flavor class lacks.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import orjson

from mainsail.core._errors import InvalidValueError, MainsailError, UnsupportedModelError
from mainsail.core._plugins import Registry

_log = logging.getLogger(__name__)

TASKS = ("classification", "regression", "other")
#: When no ``flavor=`` is given, flavors are asked in this order (then by name): specific
#: formats first, catch-alls (any scikit-learn estimator, any python model) last.
DEFAULT_DETECT_ORDER = 50

# name -> how to call it with a stand-in self/cls: (positional args, what they are)
_CLASS_METHODS = {
    "supports": ((object(),), "supports(model)"),
    "save": ((object(), Path("."), False), "save(model, folder, allow_pickle)"),
}
_INSTANCE_METHODS = {
    "load": ((Path("."), {}), "load(folder, meta)"),
    "predict": ((object(),), "predict(X)"),
    "predict_proba": ((object(),), "predict_proba(X)"),
    "unload": ((), "unload()"),
    "metadata": ((), "metadata()"),
}
_NEEDS = (
    "flavor and requires (class attributes), classmethods supports(model) and "
    "save(model, folder, allow_pickle) -> dict, and load(folder, meta), predict(X), "
    "has_proba, predict_proba(X), unload(), metadata(); see mainsail.runtimes.Runtime"
)


def check_runtime(cls: Any, name: str | None = None) -> type[Any]:
    """Check that ``cls`` is a usable flavor class; returns it, or raises with every problem.

    A flavor implements :class:`mainsail.runtimes.Runtime`: class attributes ``flavor``
    (a name) and ``requires`` (pip packages recorded with the model), classmethods
    ``supports(model)`` and ``save(model, folder, allow_pickle) -> dict`` (JSON-safe
    metadata, with ``task`` and ``classes``, that ``load`` gets back), and
    ``load(folder, meta)``, ``predict(X)``, ``has_proba``, ``predict_proba(X)``,
    ``unload()`` and ``metadata()``; it is built without arguments. Optional:
    ``detect_order`` (when to ask ``supports``, default 50; lower first) and
    ``takes_artifacts`` (``save`` accepts ``artifacts=``, files stored with the model).

    Examples
    --------
    >>> from mainsail.runtimes._sklearn import SklearnRuntime
    >>> check_runtime(SklearnRuntime) is SklearnRuntime
    True
    >>> check_runtime(object(), "bad")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mainsail.core._errors.InvalidValueError: Flavor 'bad' must be a class; got an instance of object. ...
    """
    label = f"Flavor {name!r}" if name else "A flavor"
    if not inspect.isclass(cls):
        raise InvalidValueError(
            f"{label} must be a class; got {_what(cls)}. A flavor class needs {_NEEDS}."
        )
    where = f"{cls.__module__}.{cls.__qualname__}"
    problems: list[str] = []
    flavor = getattr(cls, "flavor", None)
    if not isinstance(flavor, str) or not flavor.strip():
        problems.append(f"'flavor' must be a non-empty string (got {flavor!r})")
    requires = getattr(cls, "requires", None)
    if not isinstance(requires, tuple | list) or not all(isinstance(r, str) for r in requires):
        problems.append(f"'requires' must be a tuple of pip package names (got {requires!r})")
    if not hasattr(cls, "has_proba"):
        problems.append("'has_proba' is missing (a property or a bool)")
    for method, (args, shape) in _CLASS_METHODS.items():
        problems += _callable_as(getattr(cls, method, None), args, f"classmethod {shape}")
    for method, (args, shape) in _INSTANCE_METHODS.items():
        problems += _callable_as(getattr(cls, method, None), (object(), *args), shape)
    try:
        inspect.signature(cls).bind()
    except TypeError:
        problems.append("it must be constructible without arguments (cls())")
    except ValueError:
        pass  # no signature to read (a builtin): let it fail where it is used
    order = getattr(cls, "detect_order", DEFAULT_DETECT_ORDER)
    if not isinstance(order, int) or isinstance(order, bool):
        problems.append(f"'detect_order' must be an int (got {order!r})")
    if problems:
        raise InvalidValueError(
            f"{label} ({where}) does not implement mainsail.runtimes.Runtime: "
            + "; ".join(problems)
            + f". A flavor class needs {_NEEDS}."
        )
    return cls  # type: ignore[no-any-return]


def _what(obj: Any) -> str:
    if isinstance(obj, str):
        return f"the string {obj!r} (register_flavor takes a class or its 'module:Class')"
    if callable(obj):
        return f"the callable {getattr(obj, '__qualname__', repr(obj))}"
    return f"an instance of {type(obj).__name__}"


def _callable_as(fn: Any, args: tuple[Any, ...], shape: str) -> list[str]:
    if fn is None:
        return [f"{shape} is missing"]
    if not callable(fn):
        return [f"{shape} must be a method (got {type(fn).__name__})"]
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return [f"{shape} cannot be called with those arguments"]
    except ValueError:
        pass
    return []


def check_flavor_meta(flavor: str, meta: Any) -> dict[str, Any]:
    """What a flavor's ``save`` returned must fit the model's manifest; returns it."""
    if not isinstance(meta, dict):
        raise InvalidValueError(
            f"Flavor {flavor!r}: save() must return a dict of JSON-safe metadata (stored in the "
            f"model's manifest and passed back to load()). It returned {type(meta).__name__}."
        )
    try:
        orjson.dumps(meta, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise InvalidValueError(
            f"Flavor {flavor!r}: save() returned metadata that is not JSON-safe ({exc}). "
            "Return strings, numbers, lists and dicts only."
        ) from None
    task = meta.get("task", "other")
    if task not in TASKS:
        raise InvalidValueError(
            f"Flavor {flavor!r}: save() returned task {task!r}. Valid tasks are: "
            + ", ".join(TASKS)
            + "."
        )
    classes = meta.get("classes")
    if classes is not None and not isinstance(classes, list):
        raise InvalidValueError(
            f"Flavor {flavor!r}: save() returned classes as {type(classes).__name__}; "
            "expected a list (the class labels, in the order of predict_proba) or None."
        )
    return meta


def _validate(name: str, cls: Any) -> None:
    check_runtime(cls, name)


FLAVORS: Registry[type[Any]] = Registry(
    "model flavor", group="mainsail.flavors", validate=_validate, plural="model flavors"
)
FLAVORS.register("xgboost", "mainsail.runtimes._boosting:XGBoostRuntime")
FLAVORS.register("lightgbm", "mainsail.runtimes._boosting:LightGBMRuntime")
FLAVORS.register("onnx", "mainsail.runtimes._onnx:OnnxRuntime")
FLAVORS.register("sklearn", "mainsail.runtimes._sklearn:SklearnRuntime")
FLAVORS.register("pyfunc", "mainsail.runtimes._pyfunc:PyfuncRuntime")


def register_flavor(name: str, target: type[Any] | str) -> None:
    """Register a flavor class, or its ``"module:Class"`` path (imported only when used).

    The class is checked with :func:`check_runtime` when first used.

    Examples
    --------
    >>> register_flavor("acme", "acme.flavors:AcmeRuntime")  # doctest: +SKIP
    >>> mainsail.register_model(model, name="m", input_example=X)  # doctest: +SKIP
    """
    FLAVORS.register(name, target)


def get_runtime_class(name: str) -> type[Any]:
    """The flavor class registered as ``name``; an unknown name lists the valid ones."""
    return FLAVORS.get(name)


def flavors() -> list[str]:
    """The registered flavor names (built-in, entry points, and registered in process)."""
    return FLAVORS.names()


def detect_flavor(model: Any) -> str:
    """The flavor for ``model``: the first whose ``supports(model)`` is true, in
    ``detect_order``. A flavor that cannot be imported is skipped (and logged)."""
    candidates: list[tuple[int, str, type[Any]]] = []
    for name in FLAVORS.names():
        try:
            cls = FLAVORS.get(name)
        except MainsailError as exc:
            _log.warning("model flavor %r is unavailable, skipped: %s", name, exc)
            continue
        candidates.append((getattr(cls, "detect_order", DEFAULT_DETECT_ORDER), name, cls))
    for _, name, cls in sorted(candidates, key=lambda c: (c[0], c[1])):
        if cls.supports(model):
            return name
    raise UnsupportedModelError(
        f"No flavor supports a {type(model).__module__}.{type(model).__name__} object. "
        f"Supported: scikit-learn estimators and Pipelines, XGBoost and LightGBM models, "
        f"ONNX ModelProto, and mainsail.runtimes.PythonModel subclasses (flavors: "
        f"{', '.join(FLAVORS.names())}). Wrap other models in a PythonModel, or register a "
        "flavor (mainsail.runtimes.register_flavor)."
    )


__all__ = [
    "FLAVORS",
    "check_flavor_meta",
    "check_runtime",
    "detect_flavor",
    "flavors",
    "get_runtime_class",
    "register_flavor",
]
