"""One registry shape for every extension point: flavors, drift tests, checks, strategies, ...

A :class:`Registry` maps a name to a plug-in, given either as the object itself or as a
lazy ``"module:attr"`` string that is imported on first use, so ``import mainsail`` stays
light. Built-in plug-ins register through it like anyone else's. Third-party packages can
also declare an entry point in the registry's group (``mainsail.drift_tests``, ...); those
are read once, on the first lookup.

Errors name what was asked for and list the valid names::

    Unknown drift test 'ks2'. Valid drift tests are: chi2, jensen_shannon, ks, psi, ...

Examples
--------
>>> reg: Registry[type] = Registry("widget", group=None)
>>> reg.register("dict", "builtins:dict")
>>> reg.get("dict") is dict
True
>>> reg.get("lisst")
Traceback (most recent call last):
...
mainsail.core._errors.InvalidValueError: Unknown widget 'lisst'. Valid widgets are: dict.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from mainsail.core._errors import ConfigurationError, InvalidValueError

T = TypeVar("T")


def load_target(target: str) -> Any:
    """Import ``"package.module:attr"`` (``attr`` may be dotted) and return the attribute."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise InvalidValueError(
            f"Expected a plug-in as 'package.module:attribute'. Got {target!r}."
        )
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"Could not import module {module!r} for the plug-in {target!r}: {exc}. "
            "Check that the package is installed and the module path is right."
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(
                f"Module {module!r} has no attribute {attr!r} (plug-in {target!r})."
            ) from None
    return obj


class Registry(Generic[T]):
    """Named plug-ins of one kind, loaded lazily.

    Parameters
    ----------
    kind : str
        What one entry is, for messages ("drift test", "flavor").
    group : str, optional
        Entry-point group third-party packages may declare plug-ins in; ``None``: none.
    validate : callable, optional
        ``validate(name, plugin)`` raises when a loaded plug-in breaks the contract; it runs
        once per entry, when the entry is first loaded.
    plural : str, optional
        Plural of ``kind`` for messages (default ``kind + "s"``).
    """

    def __init__(
        self,
        kind: str,
        *,
        group: str | None = None,
        validate: Callable[[str, T], None] | None = None,
        plural: str | None = None,
    ) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.group = group
        self._validate = validate
        self._targets: dict[str, T | str] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.RLock()
        self._entry_points_read = group is None

    # -- registering -------------------------------------------------------------------------
    def register(self, name: str, target: T | str, *, replace: bool = True) -> None:
        """Add ``target`` (the plug-in, or its ``"module:attr"``) under ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidValueError(
                f"A {self.kind} needs a non-empty name (a string). Got {name!r}."
            )
        with self._lock:
            if not replace and name in self._targets:
                raise InvalidValueError(
                    f"A {self.kind} named {name!r} is already registered. Pick another name, "
                    "or pass replace=True to override it."
                )
            self._targets[name] = target
            self._loaded.pop(name, None)
            if not isinstance(target, str) and self._validate is None:
                self._loaded[name] = target

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests use this to clean up); unknown names are ignored."""
        with self._lock:
            self._targets.pop(name, None)
            self._loaded.pop(name, None)

    # -- looking up --------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The plug-in called ``name``, imported on first use."""
        found = self._loaded.get(name)
        if found is not None:
            return found
        with self._lock:
            self._read_entry_points()
            if name not in self._targets:
                raise self.unknown(name)
            target = self._targets[name]
            obj: T = load_target(target) if isinstance(target, str) else target
            if self._validate is not None:
                self._validate(name, obj)
            self._loaded[name] = obj
            return obj

    def unknown(self, name: Any) -> InvalidValueError:
        """The error for a name that is not registered, listing the valid ones."""
        valid = ", ".join(self.names()) or "none registered"
        return InvalidValueError(f"Unknown {self.kind} {name!r}. Valid {self.plural} are: {valid}.")

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            self._read_entry_points()
            return sorted(self._targets)

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, plug-in)`` for every entry, loading each."""
        for name in self.names():
            yield name, self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"<Registry of {self.plural}: {', '.join(self.names())}>"

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=str(self.group)):
            self._targets.setdefault(ep.name, ep.value)


__all__ = ["Registry", "load_target"]
