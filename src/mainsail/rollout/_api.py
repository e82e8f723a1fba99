"""Progressive delivery's public functions: deploy, inspect and steer rollouts, reports.

Each function validates its input once and asks the context's delivery service
(:data:`~mainsail.rollout._service.DELIVERY`): next to the database (embedded, or inside the
server) the local implementation does the work; with ``MAINSAIL_TRACKING_URI`` the remote
one calls the server's ``/api/v1/endpoints`` routes, which call these same functions. Both
give the same objects and errors, so callers cannot tell the two apart.
"""

from __future__ import annotations

import getpass
from typing import Any

from pydantic import ValidationError

from mainsail.core._errors import InvalidValueError
from mainsail.core._uris import check_name
from mainsail.rollout._service import DELIVERY
from mainsail.rollout._strategies import get_strategy, normalize_strategy
from mainsail.rollout._types import ABReport, Endpoint, Rollout, RolloutSpec, ShadowReport
from mainsail.store._context import Context


def _actor(actor: str | None) -> str | None:
    if actor is not None:
        if not isinstance(actor, str) or not actor.strip() or len(actor) > 250:
            raise InvalidValueError(
                f"actor must be a non-empty name of at most 250 characters. Got {actor!r}. "
                "Leave it out to record the OS user."
            )
        return actor
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return None


def parse_spec(spec: dict[str, Any] | RolloutSpec | None) -> RolloutSpec:
    """A :class:`RolloutSpec` from a dict (a parsed YAML file) with a clear error."""
    if spec is None:
        return RolloutSpec()
    if isinstance(spec, RolloutSpec):
        return spec
    if not isinstance(spec, dict):
        raise InvalidValueError(f"Expected a rollout spec as a dict or RolloutSpec. Got {spec!r}.")
    data = {k.replace("-", "_"): v for k, v in spec.items()}
    hooks = data.pop("webhooks", None)
    if isinstance(hooks, dict):
        data.update({k.replace("-", "_"): v for k, v in hooks.items()})
    elif isinstance(hooks, list):  # Flagger style: [{name, type, url}]
        for h in hooks:
            if isinstance(h, dict) and "type" in h and "url" in h:
                data[str(h["type"]).replace("-", "_")] = h["url"]
    data.pop("strategy", None)
    try:
        return RolloutSpec(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidValueError(
            f"Invalid rollout spec: {problems}. Valid fields are: "
            + ", ".join(RolloutSpec.model_fields)
            + "."
        ) from None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidValueError(
            f"limit must be a whole number from 1 to 1000. Got {limit!r}. "
            "Pass e.g. limit=50 (the default)."
        )
    return limit


def _name(endpoint: Any) -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidValueError(
            f"Expected an endpoint name (a non-empty string). Got {endpoint!r}."
        )
    return endpoint


def deploy(
    ctx: Context,
    endpoint: str,
    model: str,
    *,
    strategy: str = "direct",
    spec: dict[str, Any] | RolloutSpec | None = None,
    source: str = "sdk",
    reason: str | None = None,
    actor: str | None = None,
) -> Rollout:
    """Send ``model`` to ``endpoint``: at once (direct) or by a progressive strategy.

    The first deploy to a new endpoint creates it (directly). Otherwise a canary,
    blue-green, A/B or shadow rollout (or a plug-in strategy's) starts from the current
    stable variant and the rollout controller moves it on.

    ``actor`` is who deployed (default: the OS user). Against a server
    (``MAINSAIL_TRACKING_URI``) the server deploys, records its authenticated caller and the
    rollout's ``source`` as ``api:<user>``.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.deploy("churn", "models:/churn/1")  # doctest: +SKIP
    >>> r = mainsail.deploy("churn", "models:/churn/2", strategy="canary",
    ...                     spec={"steps": [10, 50, 100], "interval": 60, "max_p99_ms": 50})  # doctest: +SKIP
    >>> r.state  # doctest: +SKIP
    'progressing'
    """
    check_name(endpoint, "Endpoint")
    name = normalize_strategy(strategy)
    get_strategy(name)  # a plug-in that breaks the contract fails here, before any write
    parsed = parse_spec(spec)
    if not isinstance(model, str) or not model:
        raise InvalidValueError(
            f"Expected a model address like models:/churn/2 or models:/churn@champion. "
            f"Got {model!r}."
        )
    return ctx.service(DELIVERY).deploy(
        endpoint, model, name, parsed, source, reason, _actor(actor)
    )


def get_endpoint(ctx: Context, name: str) -> Endpoint:
    """An endpoint with its current variants and every revision (oldest first).

    Examples
    --------
    >>> import mainsail
    >>> [v.weight for v in mainsail.get_endpoint("churn").variants]  # doctest: +SKIP
    [100.0]
    """
    return ctx.service(DELIVERY).get_endpoint(_name(name))


def list_endpoints(ctx: Context) -> list[Endpoint]:
    """Every endpoint with its current variants (no history), by name.

    Examples
    --------
    >>> import mainsail
    >>> [e.name for e in mainsail.list_endpoints()]  # doctest: +SKIP
    ['churn']
    """
    return ctx.service(DELIVERY).list_endpoints()


def get_rollout(ctx: Context, endpoint: str, id: int | None = None) -> Rollout | None:  # noqa: A002
    """The endpoint's latest rollout (or the one with ``id``); ``None`` if there is none.

    An unknown endpoint raises :class:`EndpointNotFoundError`.
    """
    if id is not None and (isinstance(id, bool) or not isinstance(id, int)):
        raise InvalidValueError(f"A rollout id is a whole number. Got {id!r}.")
    return ctx.service(DELIVERY).get_rollout(_name(endpoint), id)


def list_rollouts(ctx: Context, endpoint: str | None = None, limit: int = 50) -> list[Rollout]:
    """Rollouts, newest first: of one endpoint, or of every endpoint (``endpoint=None``).

    Examples
    --------
    >>> import mainsail
    >>> [(r.strategy, r.state) for r in mainsail.list_rollouts("churn", limit=2)]  # doctest: +SKIP
    [('canary', 'promoted'), ('direct', 'promoted')]
    """
    _check_limit(limit)
    return ctx.service(DELIVERY).list_rollouts(
        _name(endpoint) if endpoint is not None else None, limit
    )


def promote(ctx: Context, endpoint: str, *, actor: str | None = None) -> Rollout:
    """Skip the remaining steps: the rollout's target becomes the stable variant now."""
    return ctx.service(DELIVERY).promote(_name(endpoint), _actor(actor))


def pause(ctx: Context, endpoint: str) -> Rollout:
    """Hold the active rollout at its current weights until :func:`resume`."""
    return ctx.service(DELIVERY).pause(_name(endpoint))


def resume(ctx: Context, endpoint: str) -> Rollout:
    """Continue a paused rollout from the step it was held at."""
    return ctx.service(DELIVERY).resume(_name(endpoint))


def abort(ctx: Context, endpoint: str, *, actor: str | None = None) -> Rollout:
    """Stop the active rollout; all traffic returns to the stable variant."""
    return ctx.service(DELIVERY).abort(_name(endpoint), _actor(actor))


def declare_winner(ctx: Context, endpoint: str, arm: str, *, actor: str | None = None) -> Rollout:
    """End an A/B test: arm ``a`` (the old stable) or ``b`` becomes the stable variant."""
    if not isinstance(arm, str) or not arm:
        raise InvalidValueError(f"Expected an arm name like 'a' or 'b'. Got {arm!r}.")
    return ctx.service(DELIVERY).declare_winner(_name(endpoint), arm, _actor(actor))


def rollback(ctx: Context, endpoint: str, *, actor: str | None = None) -> Rollout:
    """Undo in one step: end the active rollout, or return to the previous revision.

    Without an active rollout the endpoint goes back to the newest earlier revision that
    was a settled state (no canary, preview or shadow in it) and differs from now.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.rollback("churn").state  # doctest: +SKIP
    'rolled_back'
    """
    return ctx.service(DELIVERY).rollback(_name(endpoint), _actor(actor))


def ab_report(
    ctx: Context, endpoint: str, alpha: float = 0.05, mde: float | None = None
) -> ABReport:
    """Arm b against arm a: rates by two-proportion z-test, means by Welch's test.

    ``mde`` is the smallest difference worth detecting; by default the observed one is
    used for the minimum sample size per arm (80 % power).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1 (e.g. 0.05). Got {alpha!r}.")
    if mde is not None and (
        isinstance(mde, bool) or not isinstance(mde, int | float) or not 0 < mde <= 1e12
    ):
        raise InvalidValueError(
            f"mde (the smallest difference worth detecting) must be a positive number. "
            f"Got {mde!r}. Leave it out to use the observed difference."
        )
    return ctx.service(DELIVERY).ab_report(_name(endpoint), float(alpha), mde)


def shadow_report(ctx: Context, endpoint: str) -> ShadowReport:
    """How the shadow compares with stable: agreement, prediction divergence, latency."""
    return ctx.service(DELIVERY).shadow_report(_name(endpoint))


__all__ = [
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
    "resume",
    "rollback",
    "shadow_report",
]
