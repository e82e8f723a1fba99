"""The controllers a leader can run, registered by name (entry-point group
``mainsail.controllers``).

An entry is a factory ``(context) -> Controller`` (a class taking the context does), given
as the object or its lazy ``"module:attr"``; the built-ins register like anyone else's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mainsail.controllers._protocol import Controller
from mainsail.core._errors import InvalidValueError
from mainsail.core._plugins import Registry

if TYPE_CHECKING:
    from mainsail.store._context import Context

ControllerFactory = Callable[["Context"], Controller]


def _check_factory(name: str, factory: Any) -> None:
    if not callable(factory):
        raise InvalidValueError(
            f"Controller {name!r} must be a factory taking the context (a class or a function "
            f"returning a Controller). Got {type(factory).__name__} {factory!r}."
        )


CONTROLLERS: Registry[ControllerFactory] = Registry(
    "controller", group="mainsail.controllers", validate=_check_factory
)
CONTROLLERS.register("rollouts", "mainsail.rollout:RolloutController")
CONTROLLERS.register("monitors", "mainsail.monitoring:MonitorController")
CONTROLLERS.register("automations", "mainsail.automation:AutomationController")
CONTROLLERS.register("runs", "mainsail.tracking._reaper:RunReaper")


def register_controller(name: str, factory: str | ControllerFactory) -> None:
    """Add a controller: a factory ``(context) -> Controller`` or its ``"module:attr"``.

    Examples
    --------
    >>> register_controller("cleanup", "my_package.cleanup:CleanupController")  # doctest: +SKIP
    """
    CONTROLLERS.register(name, factory)


def check_controller(controller: Any) -> Controller:
    """Check that ``controller`` (a built controller) keeps the :class:`Controller` contract;
    returns it, or raises :class:`InvalidValueError` saying what is missing.

    Examples
    --------
    >>> class Tidy:
    ...     name, interval_s = "tidy", 60.0
    ...     def tick(self, now_ms: int) -> None: ...
    >>> check_controller(Tidy()).name
    'tidy'
    """
    problems = []
    name = getattr(controller, "name", None)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"a non-empty str 'name' (found {name!r})")
    interval = getattr(controller, "interval_s", None)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
        problems.append(f"a positive number 'interval_s' in seconds (found {interval!r})")
    if not callable(getattr(controller, "tick", None)):
        problems.append("a method 'tick(now_ms)'")
    if problems:
        raise InvalidValueError(
            f"{type(controller).__name__} is not a controller: it needs "
            + "; ".join(problems)
            + ". See mainsail.controllers.Controller."
        )
    return controller  # type: ignore[no-any-return]


__all__ = ["CONTROLLERS", "ControllerFactory", "check_controller", "register_controller"]
