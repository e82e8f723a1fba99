"""SDK facade for release checks, on the process context.

Transitional: these names are the domain's own functions until they take the context as their
first parameter; then each becomes ``name = sdk(domain.name)`` (see ``_bind``).
"""

from mainsail.checks import (
    check,
    get_check_results,
    latest_check,
)

__all__ = [
    "check",
    "get_check_results",
    "latest_check",
]
