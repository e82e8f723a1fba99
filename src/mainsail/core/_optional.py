"""Optional imports go through one helper whose error names the pip command."""

from __future__ import annotations

import importlib
from types import ModuleType

from mainsail.core._errors import MissingDependencyError


def import_optional(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise an error that names the pip command to install it.

    Examples
    --------
    >>> import_optional("json", extra="core").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pkg = package or module.split(".")[0]
        raise MissingDependencyError(
            f"This feature needs the '{pkg}' package, which is not installed "
            f"(import of '{module}' failed: {exc}). "
            f"Install it with: pip install 'mainsail[{extra}]'",
            module=module,
            extra=extra,
        ) from exc
