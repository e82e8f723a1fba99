"""Progressive delivery: endpoints and revisions, canary / blue-green / A/B / shadow / direct
strategies (and plug-in ones), automatic analysis and the rollout controller."""

from typing import Any

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
from mainsail.rollout._service import DELIVERY, DeliveryService
from mainsail.rollout._signature import register_endpoint_signatures
from mainsail.rollout._strategies import (
    STRATEGIES,
    BaseStrategy,
    Strategy,
    check_strategy,
    get_strategy,
    register_strategy,
    variant,
)
from mainsail.rollout._types import (
    ABReport,
    AnalysisCheck,
    Comparison,
    Endpoint,
    Revision,
    Rollout,
    RolloutSpec,
    ShadowReport,
    Variant,
)

register_endpoint_signatures()  # release checks with endpoint= see what endpoints serve


def __getattr__(name: str) -> Any:
    if name == "CheckResult":  # the deprecated name of AnalysisCheck (warns)
        from mainsail.rollout import _types

        return _types.CheckResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DELIVERY",
    "STRATEGIES",
    "ABReport",
    "AnalysisCheck",
    "BaseStrategy",
    "Comparison",
    "DeliveryService",
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
    "check_strategy",
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
    "variant",
]
