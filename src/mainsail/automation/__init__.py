"""Automations: trigger → retraining pipeline → release checks → canary, with guards.

See :mod:`mainsail.automation._spec` for the YAML form and :mod:`._controller` for the guards.
"""

from mainsail.automation._api import (
    Automation,
    AutomationEvent,
    approve_automation,
    automation_trail,
    create_automation,
    get_automation,
    list_automations,
    set_automation_enabled,
    trigger_automation,
)
from mainsail.automation._controller import RETRAIN_JOB, AutomationController
from mainsail.automation._spec import AutomationSpec, parse_duration, parse_spec

__all__ = [
    "RETRAIN_JOB",
    "Automation",
    "AutomationController",
    "AutomationEvent",
    "AutomationSpec",
    "approve_automation",
    "automation_trail",
    "create_automation",
    "get_automation",
    "list_automations",
    "parse_duration",
    "parse_spec",
    "set_automation_enabled",
    "trigger_automation",
]
