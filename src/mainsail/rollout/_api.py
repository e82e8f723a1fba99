"""SDK facade for progressive delivery: deploy, inspect and steer rollouts, A/B and shadow reports.

Embedded, these functions work on the local store. With ``MAINSAIL_TRACKING_URI`` set they
call the server's ``/api/v1/endpoints`` routes (which validate, authorise and audit) and
build the same objects from the JSON, so callers cannot tell the two apart.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mainsail.core._errors import (
    EndpointNotFoundError,
    InvalidValueError,
    NotFoundError,
    RolloutStateError,
)
from mainsail.core._ids import now_ms
from mainsail.rollout._controller import Plan, RolloutController, to_rollout
from mainsail.rollout._strategies import get_strategy, normalize_strategy
from mainsail.rollout._types import (
    ACTIVE_STATES,
    ABReport,
    Comparison,
    Endpoint,
    Revision,
    Rollout,
    RolloutSpec,
    ShadowReport,
    Variant,
)
from mainsail.store._context import Context
from mainsail.store._rest_client import seg

if TYPE_CHECKING:
    from mainsail.store._rest_store import RestClient


def _actor() -> str | None:
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


def _at(endpoint: str, *rest: str | int) -> str:
    """The API path of an endpoint (``/endpoints/NAME/...``)."""
    return "/".join(["/endpoints", seg(endpoint), *(str(r) for r in rest)])


def _steer(api: RestClient, endpoint: str, action: str) -> Rollout:
    return Rollout.model_validate(api.json("POST", _at(endpoint, "rollout", action)))


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidValueError(
            f"limit must be a whole number from 1 to 1000. Got {limit!r}. "
            "Pass e.g. limit=50 (the default)."
        )
    return limit


def deploy(
    ctx: Context,
    endpoint: str,
    model: str,
    *,
    strategy: str = "direct",
    spec: dict[str, Any] | RolloutSpec | None = None,
    source: str = "sdk",
    reason: str | None = None,
) -> Rollout:
    """Send ``model`` to ``endpoint``: at once (direct) or by a progressive strategy.

    The first deploy to a new endpoint creates it (directly). Otherwise a canary,
    blue-green, A/B or shadow rollout starts from the current stable variant and the
    rollout controller moves it on.

    Against a server (``MAINSAIL_TRACKING_URI``) the server deploys, and records the
    rollout's ``source`` as ``api:<user>`` (the audit log has who did it).

    Examples
    --------
    >>> import mainsail
    >>> mainsail.deploy("churn", "models:/churn/1")  # doctest: +SKIP
    >>> r = mainsail.deploy("churn", "models:/churn/2", strategy="canary",
    ...                     spec={"steps": [10, 50, 100], "interval": 60, "max_p99_ms": 50})  # doctest: +SKIP
    >>> r.state  # doctest: +SKIP
    'progressing'
    """
    from mainsail.core._uris import check_name
    from mainsail.registry._registry import resolve_version

    check_name(endpoint, "Endpoint")
    name = normalize_strategy(strategy)
    parsed = parse_spec(spec)
    if (api := ctx.remote) is not None:  # the server records the source as api:<user>
        body = {
            "model": model,
            "strategy": name,
            "spec": parsed.model_dump(mode="json", exclude_defaults=True),
            "reason": reason,
        }
        return Rollout.model_validate(api.json("POST", _at(endpoint, "deploy"), json=body))
    mv = resolve_version(ctx, model)
    target = Variant(name="stable", model=mv.name, version=mv.version, weight=100, role="stable")
    store = ctx.database()
    actor = _actor()
    try:
        current = store.get_revision(endpoint)
    except EndpointNotFoundError:
        current = None
    if current is None:
        rev = store.add_endpoint_revision(
            endpoint, [target.model_dump()], {"name": "direct"}, reason or "created", actor,
            create=True,
        )  # fmt: skip
        rid = store.create_rollout(
            endpoint, "direct", {"spec": {}, "stable": target.model_dump(),
                                 "target": target.model_dump()},
            "promoted", source, actor, None, rev,
            message=f"Created {endpoint} serving {mv.address}.",
        )  # fmt: skip
        return get_rollout(ctx, endpoint, rid)  # type: ignore[return-value]
    active = store.get_rollout_record(endpoint)
    if active is not None and active["state"] in ACTIVE_STATES:
        raise RolloutStateError(
            f"Endpoint {endpoint!r} already has a {active['strategy']} rollout "
            f"{active['id']} ({active['state']}). Promote, abort or roll it back first: "
            f"mainsail rollout promote|abort|rollback {endpoint}."
        )
    variants = [Variant(**v) for v in current["variants"]]
    stable = next((v for v in variants if v.role == "stable"), variants[0])
    if name != "direct" and (stable.model, stable.version) == (mv.name, mv.version):
        raise InvalidValueError(
            f"{mv.address} is already the stable variant of {endpoint!r}; a {name} rollout "
            "needs another version. Register a new version, or deploy with strategy='direct'."
        )
    doc = {
        "spec": parsed.model_dump(exclude_defaults=True),
        "stable": stable.model_dump(),
        "target": target.model_dump(),
    }
    if name == "direct":
        with store.db.write() as conn:
            rev = store.add_endpoint_revision(
                endpoint, [target.model_dump()], {"name": "direct"}, reason or "direct deploy",
                actor, conn=conn,
            )  # fmt: skip
            rid = store.create_rollout(
                endpoint, "direct", doc, "promoted", source, actor, current["revision"], rev,
                message=f"{mv.address} serves 100% of {endpoint}.", conn=conn,
            )  # fmt: skip
        return get_rollout(ctx, endpoint, rid)  # type: ignore[return-value]
    rid = store.create_rollout(
        endpoint, name, doc, "pending", source, actor, current["revision"],
        message=reason or f"{name} of {mv.address} requested.",
    )  # fmt: skip
    record = store.get_rollout_record(endpoint, rid)
    if record is not None:
        RolloutController(ctx).advance(record, now_ms())  # pending -> progressing right away
    return get_rollout(ctx, endpoint, rid)  # type: ignore[return-value]


def get_endpoint(ctx: Context, name: str) -> Endpoint:
    """An endpoint with its current variants and every revision (oldest first).

    Examples
    --------
    >>> import mainsail
    >>> [v.weight for v in mainsail.get_endpoint("churn").variants]  # doctest: +SKIP
    [100.0]
    """
    if (api := ctx.remote) is not None:
        return Endpoint.model_validate(api.json("GET", _at(name)))
    rec = ctx.database().get_endpoint_record(name)
    history = [Revision(**r) for r in rec["history"]]
    current = next((r for r in history if r.revision == rec["revision"]), None)
    return Endpoint(
        name=rec["name"],
        revision=rec["revision"],
        variants=list(current.variants) if current else [],
        history=history,
        created_at=rec["created_at"],
        updated_at=rec["updated_at"],
    )


def list_endpoints(ctx: Context) -> list[Endpoint]:
    """Every endpoint with its current variants (no history), by name.

    Examples
    --------
    >>> import mainsail
    >>> [e.name for e in mainsail.list_endpoints()]  # doctest: +SKIP
    ['churn']
    """
    if (api := ctx.remote) is not None:
        return [Endpoint.model_validate(e) for e in api.json("GET", "/endpoints")]
    out = []
    for r in ctx.database().list_endpoint_records():
        variants = [Variant(**v) for v in r["variants"]]
        out.append(
            Endpoint(
                name=r["name"],
                revision=r["current_revision"],
                variants=variants,
                history=[],
                created_at=r["updated_at"],
                updated_at=r["updated_at"],
            )
        )
    return out


def get_rollout(ctx: Context, endpoint: str, id: int | None = None) -> Rollout | None:  # noqa: A002
    """The endpoint's latest rollout (or the one with ``id``); ``None`` if there is none.

    An unknown endpoint raises :class:`EndpointNotFoundError`.
    """
    if (api := ctx.remote) is not None:
        if id is None:
            latest = api.json("GET", _at(endpoint, "rollouts"), params={"limit": 1})
            return Rollout.model_validate(latest[0]) if latest else None
        if not 1 <= int(id) < 2**63:  # no such id; still an error for an unknown endpoint
            api.json("GET", _at(endpoint, "rollouts"), params={"limit": 1})
            return None
        try:
            return Rollout.model_validate(api.json("GET", _at(endpoint, "rollouts", int(id))))
        except EndpointNotFoundError:
            raise
        except NotFoundError:  # the endpoint exists, the rollout does not
            return None
    record = ctx.database().get_rollout_record(endpoint, id)
    return to_rollout(record) if record is not None else None


def list_rollouts(ctx: Context, endpoint: str | None = None, limit: int = 50) -> list[Rollout]:
    """Rollouts, newest first: of one endpoint, or of every endpoint (``endpoint=None``).

    Examples
    --------
    >>> import mainsail
    >>> [(r.strategy, r.state) for r in mainsail.list_rollouts("churn", limit=2)]  # doctest: +SKIP
    [('canary', 'promoted'), ('direct', 'promoted')]
    """
    _check_limit(limit)
    if (api := ctx.remote) is not None:
        path = _at(endpoint, "rollouts") if endpoint is not None else "/rollouts"
        return [Rollout.model_validate(r) for r in api.json("GET", path, params={"limit": limit})]
    found = [to_rollout(r) for r in ctx.database().list_rollout_records(endpoint, limit=limit)]
    if not found and endpoint is not None:
        ctx.database().get_endpoint_record(endpoint, history=False)  # an unknown endpoint: say so
    return found


def promote(ctx: Context, endpoint: str) -> Rollout:
    """Skip the remaining steps: the rollout's target becomes the stable variant now."""
    if (api := ctx.remote) is not None:
        return _steer(api, endpoint, "promote")
    return RolloutController(ctx).promote(endpoint, _actor() or "user")


def pause(ctx: Context, endpoint: str) -> Rollout:
    """Hold the active rollout at its current weights until :func:`resume`."""
    if (api := ctx.remote) is not None:
        return _steer(api, endpoint, "pause")
    return RolloutController(ctx).pause(endpoint)


def resume(ctx: Context, endpoint: str) -> Rollout:
    """Continue a paused rollout from the step it was held at."""
    if (api := ctx.remote) is not None:
        return _steer(api, endpoint, "resume")
    return RolloutController(ctx).resume(endpoint)


def abort(ctx: Context, endpoint: str) -> Rollout:
    """Stop the active rollout; all traffic returns to the stable variant."""
    if (api := ctx.remote) is not None:
        return _steer(api, endpoint, "abort")
    return RolloutController(ctx).abort(endpoint, _actor() or "user")


def declare_winner(ctx: Context, endpoint: str, arm: str) -> Rollout:
    """End an A/B test: arm ``a`` (the old stable) or ``b`` becomes the stable variant."""
    if (api := ctx.remote) is not None:
        return Rollout.model_validate(api.json("POST", _at(endpoint, "winner"), json={"arm": arm}))
    return RolloutController(ctx).declare_winner(endpoint, arm, _actor() or "user")


def rollback(ctx: Context, endpoint: str) -> Rollout:
    """Undo in one step: end the active rollout, or return to the previous revision.

    Without an active rollout the endpoint goes back to the newest earlier revision that
    was a settled state (no canary, preview or shadow in it) and differs from now.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.rollback("churn").state  # doctest: +SKIP
    'rolled_back'
    """
    if (api := ctx.remote) is not None:
        return _steer(api, endpoint, "rollback")
    store = ctx.database()
    record = store.get_rollout_record(endpoint)
    if record is not None and record["state"] in ACTIVE_STATES:
        return RolloutController(ctx).roll_back(endpoint, _actor() or "user")
    rec = store.get_endpoint_record(endpoint)
    current = rec["revision"]
    previous = [r for r in rec["history"] if r["revision"] < current]
    if not previous:
        raise RolloutStateError(
            f"Endpoint {endpoint!r} is at its first revision; there is nothing to roll back to."
        )
    cur_variants = next(r for r in rec["history"] if r["revision"] == current)["variants"]

    def settled(r: dict[str, Any]) -> bool:  # not an intermediate step of a rollout
        return all(v.get("role") in ("stable", "arm") for v in r["variants"])

    prev = next(
        (r for r in reversed(previous) if settled(r) and r["variants"] != cur_variants),
        previous[-1],
    )
    actor = _actor()
    with store.db.write() as conn:
        rev = store.add_endpoint_revision(
            endpoint, prev["variants"], {**prev["strategy"], "name": "direct"},
            f"rollback to revision {prev['revision']}", actor, conn=conn,
        )  # fmt: skip
        cur = next(r for r in rec["history"] if r["revision"] == current)
        stable = next((v for v in cur["variants"] if v.get("role") == "stable"), cur["variants"][0])
        back = next((v for v in prev["variants"] if v.get("role") == "stable"), prev["variants"][0])
        rid = store.create_rollout(
            endpoint, "direct", {"spec": {}, "stable": stable, "target": back}, "rolled_back",
            "rollback", actor, current, rev,
            message=f"Rolled back from revision {current} to the variants of revision "
            f"{prev['revision']}.", conn=conn,
        )  # fmt: skip
    return get_rollout(ctx, endpoint, rid)  # type: ignore[return-value]


# -- reports -------------------------------------------------------------------------------
def _latest_of(ctx: Context, endpoint: str, strategy: str) -> Plan:
    store = ctx.database()
    store.get_endpoint_record(endpoint, history=False)  # an unknown endpoint: say so
    for r in store.list_rollout_records(endpoint, limit=50):
        if r["strategy"] == strategy:
            return Plan.of(r)
    raise RolloutStateError(
        f"Endpoint {endpoint!r} has had no {strategy} rollout. "
        f"Start one with mainsail deploy {endpoint} MODEL --strategy {strategy}."
    )


def ab_report(
    ctx: Context, endpoint: str, alpha: float = 0.05, mde: float | None = None
) -> ABReport:
    """Arm b against arm a: rates by two-proportion z-test, means by Welch's test.

    ``mde`` is the smallest difference worth detecting; by default the observed one is
    used for the minimum sample size per arm (80 % power).
    """
    from mainsail.rollout._analysis import feedback_accuracy
    from mainsail.rollout._stats import (
        min_sample_size_means,
        min_sample_size_proportions,
        two_proportion_ztest,
        welch_ttest,
    )

    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1 (e.g. 0.05). Got {alpha!r}.")
    if mde is not None and (
        isinstance(mde, bool) or not isinstance(mde, int | float) or not 0 < mde <= 1e12
    ):
        raise InvalidValueError(
            f"mde (the smallest difference worth detecting) must be a positive number. "
            f"Got {mde!r}. Leave it out to use the observed difference."
        )
    if (api := ctx.remote) is not None:
        params: dict[str, float] = {"alpha": alpha, **({"mde": mde} if mde is not None else {})}
        return ABReport.model_validate(api.json("GET", _at(endpoint, "ab-report"), params=params))
    plan = _latest_of(ctx, endpoint, "ab")
    ctl = RolloutController(ctx)
    stats = ctl.variant_stats(plan, 0, int(plan.record["created_at"]))
    a, b = stats.get("a"), stats.get("b")
    comps: list[Comparison] = []

    def rate(metric: str, xa: int, na: int, xb: int, nb: int) -> None:
        if na == 0 or nb == 0:
            comps.append(Comparison(metric=metric, test="two-proportion z", a=None, b=None,
                                    n_a=na, n_b=nb, difference=None, ci_low=None, ci_high=None,
                                    p_value=None, min_sample_size=None, significant=False))  # fmt: skip
            return
        r = two_proportion_ztest(xa, na, xb, nb, alpha)
        effect = mde if mde is not None else r.difference
        n = min_sample_size_proportions(xa / na, effect, alpha) if effect else None
        comps.append(Comparison(metric=metric, test="two-proportion z", a=xa / na, b=xb / nb,
                                n_a=na, n_b=nb, difference=r.difference, ci_low=r.ci_low,
                                ci_high=r.ci_high, p_value=r.p_value, min_sample_size=n,
                                significant=r.p_value < alpha))  # fmt: skip

    rate("success_rate", a.ok if a else 0, a.requests if a else 0,
         b.ok if b else 0, b.requests if b else 0)  # fmt: skip
    acc = feedback_accuracy(ctx, endpoint, int(plan.record["created_at"]), ["a", "b"])
    rate("accuracy", acc["a"][0], acc["a"][1], acc["b"][0], acc["b"][1])
    ma, va, na = a.latency_mean_var() if a else (0.0, 0.0, 0)
    mb, vb, nb = b.latency_mean_var() if b else (0.0, 0.0, 0)
    if na >= 2 and nb >= 2:
        r = welch_ttest(ma, va, na, mb, vb, nb, alpha)
        sd = ((va + vb) / 2) ** 0.5
        effect = mde if mde is not None else r.difference
        n = min_sample_size_means(sd, effect, alpha) if effect and sd else None
        comps.append(Comparison(metric="latency_ms", test="welch t", a=ma, b=mb, n_a=na, n_b=nb,
                                difference=r.difference, ci_low=r.ci_low, ci_high=r.ci_high,
                                p_value=r.p_value, min_sample_size=n,
                                significant=r.p_value < alpha))  # fmt: skip
    return ABReport(
        endpoint=endpoint,
        arms=["a", "b"],
        requests={"a": a.requests if a else 0, "b": b.requests if b else 0},
        comparisons=comps,
        alpha=alpha,
    )


def shadow_report(ctx: Context, endpoint: str) -> ShadowReport:
    """How the shadow compares with stable: agreement, prediction divergence, latency."""
    from mainsail.rollout._stats import js_divergence
    from mainsail.serving._variant_stats import MergedStats, prediction_bins

    if (api := ctx.remote) is not None:
        return ShadowReport.model_validate(api.json("GET", _at(endpoint, "shadow-report")))
    plan = _latest_of(ctx, endpoint, "shadow")
    stats = RolloutController(ctx).variant_stats(plan, 0, int(plan.record["created_at"]))
    st, sh = stats.get("stable") or MergedStats(), stats.get("shadow") or MergedStats()
    div = None
    if st.pred_rows and sh.pred_rows:
        bins = prediction_bins([st, sh])
        if bins is not None:
            div = js_divergence(bins[0], bins[1])
    return ShadowReport(
        endpoint=endpoint,
        stable=plan.stable.address,
        shadow=plan.target.address,
        compared=sh.compared,
        agreement=sh.agree / sh.compared if sh.compared else None,
        mean_abs_diff=sh.abs_diff / sh.compared if sh.compared else None,
        divergence=div,
        stable_p99_ms=st.quantile_ms(0.99),
        shadow_p99_ms=sh.quantile_ms(0.99),
        shadow_p50_ms=sh.quantile_ms(0.5),
        shadow_errors=sh.errors,
        dropped=sh.dropped,
    )


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
