"""Release checks: gate a model version before it reaches users.

``mainsail.check(model, data, baseline=..., policy=...)`` runs the checks a policy
configures (performance thresholds, a statistical comparison with the baseline, slices,
robustness, invariance and directional expectations, budgets, schema compatibility,
training/serving skew, a serving smoke test), records a :class:`CheckResult` on the
version (JSON + HTML report in the artifact store) and returns it. An alias with
``require_checks=True`` only moves to a blessed version. See :mod:`mainsail.checks._policy`
for the policy format, :mod:`mainsail.checks._plan` for the verdict rule and
:mod:`mainsail.checks._registry` for adding checks of your own.
"""

from mainsail.checks._metrics import METRICS, Metric, get_metric, metric_names
from mainsail.checks._plan import decide_verdict
from mainsail.checks._policy import CheckPolicy, load_policy
from mainsail.checks._registry import (
    CHECKS,
    PlanFacts,
    available_checks,
    check_check,
    get_check_class,
    register_check,
    unregister_check,
)
from mainsail.checks._results import get_check_results, latest_check
from mainsail.checks._service import check
from mainsail.checks._stats import Comparison, decide, mcnemar, paired_bootstrap
from mainsail.checks._types import Check, CheckContext, CheckOutcome, CheckResult

__all__ = [
    "CHECKS",
    "METRICS",
    "Check",
    "CheckContext",
    "CheckOutcome",
    "CheckPolicy",
    "CheckResult",
    "Comparison",
    "Metric",
    "PlanFacts",
    "available_checks",
    "check",
    "check_check",
    "decide",
    "decide_verdict",
    "get_check_class",
    "get_check_results",
    "get_metric",
    "latest_check",
    "load_policy",
    "mcnemar",
    "metric_names",
    "paired_bootstrap",
    "register_check",
    "unregister_check",
]
