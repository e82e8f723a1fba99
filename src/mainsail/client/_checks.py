"""SDK facade for release checks: run them on a version, read the results."""

from mainsail.checks import _runner
from mainsail.client._bind import sdk

check = sdk(_runner.check)
get_check_results = sdk(_runner.get_check_results)
latest_check = sdk(_runner.latest_check)
