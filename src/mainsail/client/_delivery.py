"""SDK facade for progressive delivery: deploy, steer rollouts, A/B and shadow reports, on the process context.

Transitional: these names are the domain's own functions until they take the context as their
first parameter; then each becomes ``name = sdk(domain.name)`` (see ``_bind``).
"""

from mainsail.rollout._api import (
    ab_report,
    abort,
    declare_winner,
    deploy,
    get_endpoint,
    get_rollout,
    list_endpoints,
    list_rollouts,
    pause,
    promote,
    resume,
    rollback,
    shadow_report,
)

__all__ = [
    "ab_report",
    "abort",
    "declare_winner",
    "deploy",
    "get_endpoint",
    "get_rollout",
    "list_endpoints",
    "list_rollouts",
    "pause",
    "promote",
    "resume",
    "rollback",
    "shadow_report",
]
