"""Progressive delivery: endpoints and revisions, canary / blue-green / A/B / shadow / direct
strategies, automatic analysis and the rollout controller."""

from mainsail.rollout._alerts import raise_rollout_alert, resolve_rollout_alert
from mainsail.rollout._api import (
    ab_report,
    abort,
    declare_winner,
    deploy,
    get_endpoint,
    get_rollout,
    list_endpoints,
    list_rollouts,
    parse_spec,
    pause,
    promote,
    resume,
    rollback,
    shadow_report,
)
from mainsail.rollout._controller import RolloutController
from mainsail.rollout._strategies import STRATEGIES, Strategy, get_strategy, register_strategy
from mainsail.rollout._types import (
    ABReport,
    CheckResult,
    Comparison,
    Endpoint,
    Revision,
    Rollout,
    RolloutSpec,
    ShadowReport,
    Variant,
)

__all__ = [
    "STRATEGIES",
    "ABReport",
    "CheckResult",
    "Comparison",
    "Endpoint",
    "Revision",
    "Rollout",
    "RolloutController",
    "RolloutSpec",
    "ShadowReport",
    "Strategy",
    "Variant",
    "ab_report",
    "abort",
    "declare_winner",
    "deploy",
    "get_endpoint",
    "get_rollout",
    "get_strategy",
    "list_endpoints",
    "list_rollouts",
    "parse_spec",
    "pause",
    "promote",
    "raise_rollout_alert",
    "register_strategy",
    "resolve_rollout_alert",
    "resume",
    "rollback",
    "shadow_report",
]
