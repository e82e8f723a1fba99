"""Which checks a run makes, in which order, and the verdict their outcomes give.

Verdict rule: a version is **blessed** when no check failed and at least one check that
the policy configured, with a threshold, passed. Inconclusive outcomes (too few rows, an
undefined metric, no baseline to compare with) are reported but neither bless nor
reject; if nothing configured passed, the verdict is rejected. Checks that run without
being configured (metric values, a schema comparison with the baseline, skew against the
reference profile: each check says when, see :mod:`mainsail.checks._registry`) are
informational: they may reject (a schema that breaks clients), never bless. With no
thresholds at all, nothing is blessed by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.checks._registry import CHECKS, PlanFacts, check_spec

if TYPE_CHECKING:
    from mainsail.checks._policy import CheckPolicy
    from mainsail.checks._types import CheckOutcome

NO_POLICY = (
    "No thresholds are configured, so nothing is blessed by accident. Add a policy, e.g. "
    "--policy checks.yaml with `metrics: {roc_auc: {min: 0.8}}`."
)


def plan_checks(policy: CheckPolicy, facts: PlanFacts) -> list[str]:
    """The checks to run: those the policy configures, plus every registered check that
    runs informationally given ``facts``, in each check's declared order.

    Examples
    --------
    >>> from mainsail.checks._policy import load_policy
    >>> plan_checks(load_policy({"smoke": True}), PlanFacts(has_label=True))
    ['metrics', 'smoke']
    """
    configured = policy.configured()
    extra = [
        name
        for name in CHECKS.names()
        if name not in configured and check_spec(name).informational(facts)
    ]
    return sorted(configured + extra, key=lambda name: check_spec(name).order)


def needing_label(policy: CheckPolicy) -> list[str]:
    """The configured checks that need the label column."""
    return [k for k in policy.configured() if k in CHECKS and check_spec(k).needs_label]


def decide_verdict(outcomes: list[CheckOutcome], configured: list[str]) -> tuple[str, str]:
    """The verdict and its reason (see the module docstring for the rule)."""
    failed = [o.name for o in outcomes if o.status == "fail"]
    if failed:
        return "rejected", f"{len(failed)} check(s) failed: {', '.join(failed)}."
    if not configured:
        return "rejected", NO_POLICY
    passed = [
        o
        for o in outcomes
        if o.kind in configured and o.threshold is not None and o.status == "pass"
    ]
    if not passed:
        pending = [o.name for o in outcomes if o.status == "inconclusive"]
        return "rejected", (
            "No configured check with a threshold passed"
            + (f" (inconclusive: {', '.join(pending)})" if pending else "")
            + "; inconclusive checks do not bless a version on their own."
        )
    return "blessed", f"{len(passed)} judged outcome(s) passed and none failed."


__all__ = ["NO_POLICY", "PlanFacts", "decide_verdict", "needing_label", "plan_checks"]
