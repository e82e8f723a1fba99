"""Automations: trigger → retraining pipeline → release checks → canary, with guards.

See :mod:`mainsail.automation._spec` for the YAML form, :mod:`._controller` for the guards
and :mod:`._trigger` for trigger types, which are plug-ins (:data:`TRIGGERS`).
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
from mainsail.automation._trigger import (
    TRIGGERS,
    Firing,
    Trigger,
    check_trigger,
    register_trigger,
    seen,
    seen_patch,
)
from mainsail.automation._triggers import (
    DriftAlertTrigger,
    NewDataTrigger,
    PerformanceTrigger,
    ScheduleTrigger,
)

__all__ = [
    "RETRAIN_JOB",
    "TRIGGERS",
    "Automation",
    "AutomationController",
    "AutomationEvent",
    "AutomationSpec",
    "DriftAlertTrigger",
    "Firing",
    "NewDataTrigger",
    "PerformanceTrigger",
    "ScheduleTrigger",
    "Trigger",
    "approve_automation",
    "automation_trail",
    "check_trigger",
    "create_automation",
    "get_automation",
    "list_automations",
    "parse_duration",
    "parse_spec",
    "register_trigger",
    "seen",
    "seen_patch",
    "set_automation_enabled",
    "trigger_automation",
]
