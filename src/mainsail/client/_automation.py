"""SDK facade for automations: declare, inspect, trigger, approve, on the process context.

Transitional: these names are the domain's own functions until they take the context as their
first parameter; then each becomes ``name = sdk(domain.name)`` (see ``_bind``).
"""

from mainsail.automation import (
    approve_automation,
    automation_trail,
    create_automation,
    get_automation,
    list_automations,
    trigger_automation,
)

__all__ = [
    "approve_automation",
    "automation_trail",
    "create_automation",
    "get_automation",
    "list_automations",
    "trigger_automation",
]
