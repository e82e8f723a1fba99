"""The one alert the rollout controller raises: ``rollout_rolled_back`` for an endpoint.

The monitoring package owns alerts (rules, lifecycle, notification); this module raises and
resolves the endpoint's rollback alert through it, keyed by the fingerprint
``rollout:<endpoint>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.monitoring._alerts import raise_alert, resolve_open

if TYPE_CHECKING:
    from mainsail.store._context import Context

RULE = "rollout_rolled_back"


def fingerprint(endpoint: str) -> str:
    return f"rollout:{endpoint}"


def raise_rollout_alert(
    ctx: Context, endpoint: str, evidence: dict[str, Any], value: float | None = None
) -> int:
    """Fire (or re-fire) the endpoint's rollback alert; returns the alert id."""
    store = ctx.database("Raising a rollback alert")
    alert = raise_alert(
        store, fingerprint(endpoint), RULE, endpoint, "critical", evidence, value=value
    )
    return alert.id


def resolve_rollout_alert(ctx: Context, endpoint: str) -> None:
    """Resolve a firing rollback alert (a later rollout of the endpoint was promoted)."""
    resolve_open(ctx.database("Resolving a rollback alert"), fingerprint(endpoint))
