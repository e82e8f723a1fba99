"""Compatibility with what is deployed: the signature clients call today, and data skew."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mainsail.checks._policy import SchemaPolicy, SkewPolicy
from mainsail.checks._types import CheckContext, CheckOutcome
from mainsail.core._errors import InvalidValueError
from mainsail.registry._signature import ModelSignature

#: Hooks that turn an endpoint name into the signature it serves today, tried in order;
#: the endpoint feature registers one (``ENDPOINT_SIGNATURES.append(fn)``). A hook returns
#: ``None`` when it does not know the endpoint.
ENDPOINT_SIGNATURES: list[Callable[[Any, str], ModelSignature | None]] = []


def stored_endpoint_signature(ctx: Any, endpoint: str) -> ModelSignature | None:
    """The signature of the stable variant in the endpoint's current revision (the store's
    endpoints, or the server's when the SDK talks to one; ``None`` when the endpoint does
    not exist)."""
    from mainsail.store._rest_client import seg

    if (api := ctx.remote) is not None:
        from mainsail.core._errors import EndpointNotFoundError

        try:
            variants = api.json("GET", f"/endpoints/{seg(endpoint)}")["variants"]
        except EndpointNotFoundError:
            return None
    else:
        revision = ctx.database().get_revision(endpoint)
        if not revision:
            return None
        variants = revision.get("variants") or []
    stable = next((v for v in variants if v.get("role") == "stable"), None)
    if stable is None:
        return None
    mv = ctx.store.get_model_version(stable["model"], int(stable["version"]))
    return ModelSignature.from_dict(mv.signature)


ENDPOINT_SIGNATURES.append(stored_endpoint_signature)

# Which candidate input types accept what a client sends for a baseline input type.
_ACCEPTS = {
    "int": {"int", "float"},
    "float": {"float"},
    "bool": {"bool"},
    "string": {"string", "category"},
    "category": {"string", "category"},
    "datetime": {"datetime"},
}


def compare_signatures(old: ModelSignature, new: ModelSignature) -> list[str]:
    """Reasons the ``new`` signature refuses input the ``old`` one accepts (empty: compatible).

    Examples
    --------
    >>> import pandas as pd
    >>> from mainsail.registry._signature import infer_signature
    >>> old = infer_signature(pd.DataFrame({"age": [30, 40]}), None, "regression", None)
    >>> new = infer_signature(pd.DataFrame({"age": [1.5], "plan": ["a"]}), None, "regression", None)
    >>> compare_signatures(old, new)
    ["new required input 'plan' (clients today do not send it)"]
    """
    problems = []
    for col in old.inputs.columns:
        if col.name not in new.inputs:
            continue  # the new model ignores it: extra columns are dropped
        c = new.inputs[col.name]
        if c.dtype not in _ACCEPTS[col.dtype]:
            problems.append(f"input {col.name!r} was {col.dtype}, is now {c.dtype}")
            continue
        if col.nullable and not c.nullable:
            problems.append(f"input {col.name!r} accepted missing values and now refuses them")
        if c.dtype == "category" and c.categories is not None:
            lost = sorted(set(col.categories or []) - set(c.categories))
            if lost:
                problems.append(
                    f"input {col.name!r} no longer knows categories {', '.join(map(repr, lost[:5]))}"
                )
    for c in new.inputs.columns:
        if c.name not in old.inputs:
            problems.append(f"new required input {c.name!r} (clients today do not send it)")
    return problems


def endpoint_signature(ctx: Any, endpoint: str) -> ModelSignature:
    for hook in ENDPOINT_SIGNATURES:
        sig = hook(ctx, endpoint)
        if sig is not None:
            return sig
    raise InvalidValueError(
        f"Cannot find the signature endpoint {endpoint!r} serves: no endpoint resolver knows it"
        + ("" if ENDPOINT_SIGNATURES else " (endpoints are not available in this installation)")
        + ". Pass --baseline with the model version the endpoint serves instead."
    )


class SchemaCheck:
    """Every input the baseline (or the endpoint's current model) accepts is still accepted."""

    name = "schema"

    def __init__(self, config: SchemaPolicy | None, endpoint: str | None = None) -> None:
        self.config = config
        self.endpoint = endpoint

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        judged = self.config is not None
        endpoint = self.endpoint or context.cache.get("endpoint")
        if endpoint:
            old, against = endpoint_signature(context.ctx, endpoint), f"endpoint {endpoint!r}"
        elif context.baseline_version is not None:
            old = ModelSignature.from_dict(context.baseline_version.signature)
            against = context.baseline_version.address
        else:
            return [
                CheckOutcome(
                    name="schema",
                    kind="schema",
                    status="inconclusive",
                    threshold=0 if judged else None,
                    detail="no baseline or endpoint to compare the signature with",
                )
            ]
        problems = compare_signatures(old, context.model.signature)
        ok = not problems
        return [
            CheckOutcome(
                name="schema",
                kind="schema",
                status="pass" if ok else "fail",
                value=float(len(problems)),
                threshold=0 if judged else None,
                detail=(
                    f"accepts every input {against} accepts"
                    if ok
                    else f"breaks clients of {against}: " + "; ".join(problems)
                ),
                data={"against": against, "problems": problems},
            )
        ]


class SkewCheck:
    """Training/serving skew: the check data against the version's reference profile."""

    name = "skew"

    def __init__(self, config: SkewPolicy | None) -> None:
        self.config = config

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        from mainsail.data._profile import Profile
        from mainsail.monitoring import drift

        cfg = self.config or SkewPolicy.model_validate({})
        judged = self.config is not None
        ref = context.version.reference_profile
        if not ref:
            return [
                CheckOutcome(
                    name="skew",
                    kind="skew",
                    status="inconclusive",
                    threshold=cfg.max_drift_share if judged else None,
                    detail="the version has no reference profile (register it with reference=)",
                )
            ]
        profile = Profile.from_dict(ref)
        names = [c for c in (cfg.columns or list(profile.columns)) if c in context.X.columns]
        if cfg.columns:
            unknown = [c for c in cfg.columns if c not in profile.columns]
            if unknown:
                raise InvalidValueError(
                    f"skew.columns names {', '.join(map(repr, unknown))}, not in the reference "
                    f"profile. Profiled columns: {', '.join(profile.columns)}."
                )
        report = drift(profile, context.X[names], columns=names, drift_share=cfg.max_drift_share)
        drifted = report.drifted_columns
        worst = sorted(report.columns, key=lambda c: -c.effect_size)[:5]
        detail = (
            f"{len(drifted)}/{len(report.columns)} columns drifted from the training reference "
            f"({report.share_drifted:.0%}, max {cfg.max_drift_share:.0%})"
            + (": " + "; ".join(report[c].describe() for c in drifted[:5]) if drifted else "")
        )
        status = "fail" if report.dataset_drift else "pass"
        if not judged:
            status = "inconclusive" if report.dataset_drift else "pass"
            detail = "informational: " + detail
        return [
            CheckOutcome(
                name="skew",
                kind="skew",
                status=status,  # type: ignore[arg-type]
                value=report.share_drifted,
                threshold=cfg.max_drift_share if judged else None,
                detail=detail,
                data={
                    "drifted": drifted,
                    "columns": [c.model_dump() for c in report.columns],
                    "largest_effects": [c.column for c in worst],
                },
            )
        ]
