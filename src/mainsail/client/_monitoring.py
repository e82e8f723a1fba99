"""SDK facade for monitoring: monitors, their results and reports, alerts."""

from mainsail import monitoring as _m
from mainsail.client._bind import sdk

create_monitor = sdk(_m.create_monitor)
delete_monitor = sdk(_m.delete_monitor)
get_monitor = sdk(_m.get_monitor)
list_alerts = sdk(_m.list_alerts)
list_monitors = sdk(_m.list_monitors)
list_results = sdk(_m.list_results)
monitor_from_yaml = sdk(_m.monitor_from_yaml)
render_prometheus = sdk(_m.render_prometheus)
resolve_alert = sdk(_m.resolve_alert)
results_frame = sdk(_m.results_frame)
run_monitor = sdk(_m.run_monitor)
write_report = sdk(_m.write_report)
