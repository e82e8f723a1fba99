"""SDK facade for release checks: run them on a version, read the results."""

import mainsail.rollout  # noqa: F401 - registers the endpoint-signature hook for endpoint=
from mainsail.checks import _results, _service
from mainsail.client._bind import sdk

check = sdk(_service.check)
get_check_results = sdk(_results.get_check_results)
latest_check = sdk(_results.latest_check)
