"""Release checks by policy key: the plug-in registry, and what each check declares.

A check is registered under the key a policy names it by (``metrics``, ``smoke``, or a
third-party ``rows``). The registered object is a class (or any factory) called with the
parsed policy section, ``factory(config)``, whose result has ``run(context)``; built-ins
register through :data:`CHECKS` like anyone else, and packages may declare entry points in
the group ``mainsail.checks``.

What the runner needs to know about a check is a property of the check, declared as class
attributes (all optional; the defaults suit a simple third-party check):

``config_model``
    The type of its policy section: a pydantic model, or any type pydantic validates
    (``list[InvarianceSpec]``); default ``Any`` (the section as written). A check whose
    config is a model may be switched on with ``key: true`` (its defaults).
``order``
    Where it runs in the plan (built-ins use 10..100; default 1000, after them).
``needs_label``
    Whether it needs the label column when the policy configures it.
``enabled(config) -> bool``
    Whether a parsed section turns the check on (default: it is present); ``metrics: {}``
    is off, for instance.
``informational(facts) -> bool``
    Whether it runs, unjudged, when the policy does not configure it (default never):
    metric values when the data has a label, the schema when there is a baseline.

Examples
--------
>>> from mainsail.checks import CheckOutcome, register_check
>>> class RowCount:
...     name = "rows"
...     def __init__(self, config): self.minimum = config["min"]
...     def run(self, context):
...         n = len(context.X)
...         ok = n >= self.minimum
...         return [CheckOutcome(name="rows", kind="rows", status="pass" if ok else "fail",
...                              value=n, threshold=self.minimum)]
>>> register_check("rows", RowCount)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from mainsail.core._errors import InvalidValueError
from mainsail.core._plugins import Registry

RESERVED = ("label", "seed")
"""Policy keys that are not checks."""
DEFAULT_ORDER = 1000


@dataclass(frozen=True)
class PlanFacts:
    """What a check run has, for deciding which unconfigured checks run informationally.

    ``has_label``: the data has the label and the task is scored; ``has_baseline``: a
    baseline version or an endpoint to compare the signature with; ``has_profile``: the
    version has a reference profile; ``compare``: the baseline can score the same rows.
    """

    has_label: bool = False
    has_baseline: bool = False
    has_profile: bool = False
    compare: bool = False


def check_check(obj: Any, name: str | None = None) -> Any:
    """Validate a check plug-in (a class or factory) against the protocol; returns it.

    Raises :class:`~mainsail.core.InvalidValueError` saying what is wrong and what a check
    looks like.

    Examples
    --------
    >>> from mainsail.checks import check_check
    >>> check_check(print)  # doctest: +SKIP
    """
    what = f"The check {name!r}" if name else f"The check {obj!r}"
    shape = (
        " A check is a class with a 'name' and 'run(context) -> list[CheckOutcome]', built "
        "with its policy section: cls(config). See mainsail.checks.Check."
    )
    if not callable(obj):
        raise InvalidValueError(
            f"{what} must be a class (or factory) called with its policy section. "
            f"Got {type(obj).__name__}.{shape}"
        )
    if inspect.isclass(obj):
        if not callable(getattr(obj, "run", None)):
            raise InvalidValueError(f"{what} ({obj.__qualname__}) has no run(context).{shape}")
        if not isinstance(getattr(obj, "name", None), str):
            raise InvalidValueError(f"{what} ({obj.__qualname__}) has no 'name' string.{shape}")
    order = getattr(obj, "order", DEFAULT_ORDER)
    if isinstance(order, bool) or not isinstance(order, int):
        raise InvalidValueError(f"{what}: 'order' must be an integer. Got {order!r}.")
    if not isinstance(getattr(obj, "needs_label", False), bool):
        raise InvalidValueError(f"{what}: 'needs_label' must be True or False.")
    for hook in ("enabled", "informational"):
        if hasattr(obj, hook) and not callable(getattr(obj, hook)):
            raise InvalidValueError(f"{what}: '{hook}' must be callable.")
    config = getattr(obj, "config_model", Any)
    if not _is_type(config):
        raise InvalidValueError(
            f"{what}: 'config_model' must be the type of its policy section (a pydantic "
            f"model, or a type pydantic validates). Got {config!r}."
        )
    try:
        _adapter(config)
    except Exception as exc:  # noqa: BLE001 - pydantic says why it cannot use the type
        raise InvalidValueError(
            f"{what}: pydantic cannot validate its 'config_model' {config!r}: {exc}"
        ) from None
    return obj


def _is_type(config: Any) -> bool:
    # a class, or a typing form such as list[X] / Annotated[...]: not an instance of a value
    return config is Any or inspect.isclass(config) or hasattr(config, "__origin__")


def _validate(name: str, obj: Any) -> None:
    check_check(obj, name)


CHECKS: Registry[Any] = Registry("check", group="mainsail.checks", validate=_validate)
"""Release checks by policy key (lazy ``"module:Class"`` targets)."""

for _name, _target in {
    "metrics": "mainsail.checks._performance:ThresholdCheck",
    "baseline": "mainsail.checks._performance:BaselineCheck",
    "slices": "mainsail.checks._performance:SliceCheck",
    "robustness": "mainsail.checks._behaviour:RobustnessCheck",
    "invariance": "mainsail.checks._behaviour:InvarianceCheck",
    "directional": "mainsail.checks._behaviour:DirectionalCheck",
    "budgets": "mainsail.checks._budgets:BudgetCheck",
    "schema": "mainsail.checks._compat:SchemaCheck",
    "skew": "mainsail.checks._compat:SkewCheck",
    "smoke": "mainsail.checks._smoke:SmokeCheck",
    "capacity": "mainsail.checks._capacity:CapacityCheck",
    "explanations": "mainsail.checks._explanations:ExplanationsCheck",
}.items():
    CHECKS.register(_name, _target)


@dataclass(frozen=True)
class CheckSpec:
    """What the runner reads from a registered check (its declared properties)."""

    name: str
    factory: Callable[[Any], Any]
    config: Any
    order: int
    needs_label: bool

    @property
    def adapter(self) -> TypeAdapter[Any]:
        return _adapter(self.config)

    @property
    def toggles(self) -> bool:
        """Whether ``key: true`` switches it on with its defaults (a model config)."""
        return inspect.isclass(self.config) and issubclass(self.config, BaseModel)

    def parse(self, raw: Any) -> Any:
        """The section parsed with the check's config type, or None when it is off.

        Raises pydantic's ``ValidationError`` for a malformed section.
        """
        if raw is None or raw is False:
            return None
        if raw is True and self.toggles:
            raw = {}
        value = self.adapter.validate_python(raw)
        hook = getattr(self.factory, "enabled", None)
        on = hook(value) if hook is not None else value is not None
        return value if on else None

    def dump(self, value: Any) -> Any:
        """The parsed section as JSON data (what ``CheckPolicy.to_dict`` writes)."""
        return self.adapter.dump_python(value, mode="json", by_alias=True, exclude_none=True)

    def informational(self, facts: PlanFacts) -> bool:
        hook = getattr(self.factory, "informational", None)
        return bool(hook(facts)) if hook is not None else False

    def build(self, config: Any) -> Any:
        """The check for one run: ``factory(config)`` (config None when informational)."""
        check = self.factory(config)
        if not callable(getattr(check, "run", None)):
            raise InvalidValueError(
                f"The check {self.name!r} built {type(check).__name__}, which has no "
                "run(context). A check factory returns an object with run(context)."
            )
        return check


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}
_ADAPTERS_LOCK = threading.Lock()


def _adapter(config: Any) -> TypeAdapter[Any]:
    # one TypeAdapter per config type: building one costs more than a validation
    found = _ADAPTERS.get(id(config))
    if found is not None and found[0] is config:
        return found[1]
    with _ADAPTERS_LOCK:
        adapter = TypeAdapter(config)
        _ADAPTERS[id(config)] = (config, adapter)
        return adapter


def check_spec(name: str) -> CheckSpec:
    """The declared properties of the check registered as ``name`` (imports it)."""
    factory = get_check_class(name)
    order = getattr(factory, "order", DEFAULT_ORDER)
    return CheckSpec(
        name=name,
        factory=factory,
        config=getattr(factory, "config_model", Any),
        order=int(order),
        needs_label=bool(getattr(factory, "needs_label", False)),
    )


def register_check(name: str, cls: Any) -> None:
    """Register a check class (or a ``"module:Class"`` string) under a policy key.

    The class is built with the parsed policy section as its only argument
    (``cls(config)``) and follows the :class:`~mainsail.checks.Check` protocol; the
    optional class attributes ``config_model``, ``order``, ``needs_label``, ``enabled`` and
    ``informational`` are described in :mod:`mainsail.checks._registry`.

    Examples
    --------
    >>> from mainsail.checks import CheckOutcome, register_check
    >>> class AlwaysPass:
    ...     name = "always"
    ...     def __init__(self, config): self.config = config
    ...     def run(self, context):
    ...         return [CheckOutcome(name="always", kind="always", status="pass", threshold=0)]
    >>> register_check("always", AlwaysPass)
    """
    if not isinstance(name, str) or not name.isidentifier() or name in RESERVED:
        raise InvalidValueError(
            f"A check name is an identifier (a policy key) other than "
            f"{' and '.join(map(repr, RESERVED))}. Got {name!r}."
        )
    if not isinstance(cls, str):
        check_check(cls, name)
    CHECKS.register(name, cls)


def unregister_check(name: str) -> None:
    """Remove the check registered as ``name`` (unknown names are ignored)."""
    CHECKS.unregister(name)


def available_checks() -> list[str]:
    """The policy keys of every registered check, sorted."""
    return CHECKS.names()


def get_check_class(name: str) -> Any:
    """The check registered as ``name`` (imported on first use)."""
    if name not in CHECKS:
        raise InvalidValueError(
            f"Unknown check {name!r} in the policy. Valid checks are: "
            f"{', '.join(available_checks())}. Register others with "
            "mainsail.checks.register_check(name, 'module:Class')."
        )
    return CHECKS.get(name)


__all__ = [
    "CHECKS",
    "CheckSpec",
    "PlanFacts",
    "available_checks",
    "check_check",
    "check_spec",
    "get_check_class",
    "register_check",
    "unregister_check",
]
