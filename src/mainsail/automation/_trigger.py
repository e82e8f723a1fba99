"""What a trigger is: a small class that says whether its automation should retrain now.

A trigger type is a pydantic model (the options it takes in an automation spec, under its
``type``) with one method, :meth:`Trigger.evaluate`, which reads the store through the
context and returns a :class:`Firing` or ``None``. Trigger types register in
:data:`TRIGGERS` (entry-point group ``mainsail.triggers``), the built-ins (``drift_alert``,
``performance``, ``new_data``, ``schedule``) like anyone else's; the automation spec reads
each trigger through it, so a registered type is usable in YAML at once.

A :class:`Firing` carries a ``key`` (the same evidence never fires twice), the evidence
itself, and two state patches: ``mark`` (applied whenever the firing is seen, acted on or
suppressed) and ``on_fire`` (applied only when it sets off a retraining). State is the
automation's own dict, kept by the controller between ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from mainsail.core._errors import InvalidValueError
from mainsail.core._plugins import Registry

if TYPE_CHECKING:
    from mainsail.store._context import Context


@dataclass
class Firing:
    """A trigger's verdict that its automation should retrain, and why."""

    type: str
    key: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    mark: dict[str, Any] = field(default_factory=dict)
    on_fire: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "key": self.key, "summary": self.summary, **self.evidence}


class Trigger(BaseModel):
    """Base of trigger types: ``type`` is the registered name; other fields are options.

    Examples
    --------
    >>> class Always(Trigger):
    ...     type: Literal["always"] = "always"
    ...     def evaluate(self, ctx, automation, state, now, index):
    ...         return Firing("always", f"tick:{now}", "always fires")
    >>> register_trigger(Always)  # doctest: +SKIP
    """

    model_config = ConfigDict(extra="forbid")

    type: str

    def evaluate(
        self,
        ctx: Context,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        """Whether to retrain now. ``automation`` is the stored row (``name``, ``endpoint``,
        ``created_at``, ...), ``state`` the automation's state (read it; change it through
        the firing's patches), ``now`` milliseconds, ``index`` this trigger's position in
        the spec (key per-trigger state on it: see :func:`seen`)."""
        raise NotImplementedError(f"Trigger type {self.type!r} does not implement evaluate().")


def seen(state: dict[str, Any], index: int) -> Any:
    """What trigger ``index`` last marked as seen (see :func:`seen_patch`)."""
    return state.get("seen", {}).get(str(index))


def seen_patch(index: int, value: Any) -> dict[str, Any]:
    """The state patch that marks ``value`` seen by trigger ``index``."""
    return {"seen": {str(index): value}}


def merge_patch(state: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply a nested state patch (dicts merge, anything else replaces)."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(state.get(k), dict):
            merge_patch(state[k], v)
        else:
            state[k] = v


def check_trigger(obj: Any) -> type[Trigger]:
    """``obj`` if it is a usable trigger type, else an error saying what is wrong.

    A trigger type is a subclass of :class:`Trigger` whose ``type`` field defaults to its
    name and which overrides ``evaluate``.

    Examples
    --------
    >>> from mainsail.automation._triggers import ScheduleTrigger
    >>> check_trigger(ScheduleTrigger) is ScheduleTrigger
    True
    """
    what = getattr(obj, "__name__", repr(obj))
    if not (isinstance(obj, type) and issubclass(obj, Trigger)):
        raise InvalidValueError(
            f"A trigger type must be a subclass of mainsail.automation.Trigger (a pydantic "
            f"model of its options with an evaluate() method). Got {what}."
        )
    default = obj.model_fields["type"].default
    if not isinstance(default, str) or not default:
        raise InvalidValueError(
            f"{what} needs a default 'type' naming it, e.g. type: Literal['my_trigger'] = "
            f"'my_trigger'. Got {default!r}."
        )
    if obj.evaluate is Trigger.evaluate:
        raise InvalidValueError(
            f"{what} does not implement evaluate(ctx, automation, state, now, index)."
        )
    return obj


def _validate(name: str, obj: Any) -> None:
    check_trigger(obj)
    if obj.model_fields["type"].default != name:
        raise InvalidValueError(
            f"The trigger type registered as {name!r} names itself "
            f"{obj.model_fields['type'].default!r}; register it under its own type."
        )


#: Every trigger type by name: the built-ins, ``register_trigger``'s and the entry points of
#: the group ``mainsail.triggers`` (``name = "package.module:Class"``).
TRIGGERS: Registry[type[Trigger]] = Registry(
    "trigger type", group="mainsail.triggers", validate=_validate
)
for _name, _cls in (
    ("drift_alert", "DriftAlertTrigger"),
    ("performance", "PerformanceTrigger"),
    ("new_data", "NewDataTrigger"),
    ("schedule", "ScheduleTrigger"),
):
    TRIGGERS.register(_name, f"mainsail.automation._triggers:{_cls}")


def register_trigger(cls: Any, name: str | None = None) -> Any:
    """Register a trigger type under its ``type`` (usable as a class decorator).

    ``cls`` may also be ``"package.module:Class"``, imported on first use; then give
    ``name``.
    """
    if isinstance(cls, str):
        if not name:
            raise InvalidValueError(
                f"Registering the trigger type {cls!r} by its import path needs its name: "
                "register_trigger('package.module:Class', name='my_trigger')."
            )
        TRIGGERS.register(name, cls)
        return cls
    check_trigger(cls)
    own = cls.model_fields["type"].default
    if name is not None and name != own:
        raise InvalidValueError(
            f"The trigger type {cls.__name__} names itself {own!r}, not {name!r}; register it "
            "under its own type."
        )
    TRIGGERS.register(own, cls)
    return cls


__all__ = [
    "TRIGGERS",
    "Firing",
    "Trigger",
    "check_trigger",
    "merge_patch",
    "register_trigger",
    "seen",
    "seen_patch",
]
