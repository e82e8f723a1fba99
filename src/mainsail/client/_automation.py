"""SDK facade for automations: declare, inspect, switch, trigger, approve."""

from mainsail.automation import _api
from mainsail.client._bind import sdk

approve_automation = sdk(_api.approve_automation)
automation_trail = sdk(_api.automation_trail)
create_automation = sdk(_api.create_automation)
get_automation = sdk(_api.get_automation)
list_automations = sdk(_api.list_automations)
set_automation_enabled = sdk(_api.set_automation_enabled)
trigger_automation = sdk(_api.trigger_automation)
