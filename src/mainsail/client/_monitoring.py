"""SDK facade for monitors and alerts, on the process context.

Transitional: these names are the domain's own functions until they take the context as their
first parameter; then each becomes ``name = sdk(domain.name)`` (see ``_bind``).
"""

from mainsail.monitoring import (
    create_monitor,
    list_alerts,
    list_monitors,
    resolve_alert,
    run_monitor,
)

__all__ = [
    "create_monitor",
    "list_alerts",
    "list_monitors",
    "resolve_alert",
    "run_monitor",
]
