"""Stored check results: record one on its version, read them back.

Results live in the context's store (:class:`~mainsail.store.protocols.CheckStore`): the SQL
store, or a server, which records a result a client computed as its caller's and marks it
``summary["computed_by"] == "client"`` (the ``require_checks`` gate ignores such results).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mainsail.checks._types import CheckOutcome, CheckResult
from mainsail.core._errors import InvalidValueError

if TYPE_CHECKING:
    from mainsail.store._context import Context


def model_address(ref: str) -> str:
    """``churn/4`` -> ``models:/churn/4``; full addresses pass through."""
    if not isinstance(ref, str):
        raise InvalidValueError(f"Expected a model address like 'models:/churn/4'. Got {ref!r}.")
    return ref if ref.startswith("models:/") else f"models:/{ref}"


def from_row(row: dict[str, Any]) -> CheckResult:
    """A :class:`CheckResult` from a stored row (what a :class:`CheckStore` returns)."""
    return CheckResult(
        id=row["id"],
        model=row["model"],
        version=row["version"],
        verdict=row["verdict"],
        blessed=row["verdict"] == "blessed",
        baseline_version=row.get("baseline_version"),
        checks=[CheckOutcome.model_validate(c) for c in row.get("checks") or []],
        reason=(row.get("summary") or {}).get("reason", ""),
        data_ref=row.get("data_ref"),
        policy=row.get("policy") or {},
        summary=row.get("summary") or {},
        report_digest=row.get("report_digest"),
        html_digest=row.get("html_digest"),
        created_at=row.get("created_at") or 0,
        created_by=row.get("created_by"),
    )


def record_result(ctx: Context, result: CheckResult) -> CheckResult:
    """Store ``result`` on its version with its JSON and HTML reports; returns it as stored."""
    report = orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    row = ctx.store.create_check_result(
        result.model,
        result.version,
        verdict=result.verdict,
        baseline_version=result.baseline_version,
        data_ref=result.data_ref,
        policy=result.policy,
        checks=[o.model_dump(mode="json") for o in result.checks],
        summary=json_safe(result.summary),
        report_digest=ctx.artifacts.put_bytes(report),
        html_digest=ctx.artifacts.put_bytes(result.html().encode()),
        created_by=result.created_by,
    )
    return from_row(row)


def json_safe(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY, default=str))


def get_check_results(ctx: Context, model_address_: str) -> list[CheckResult]:
    """Stored check results of a version (``churn/4``) or a whole model (``churn``), newest first.

    Examples
    --------
    >>> [r.verdict for r in mainsail.get_check_results("models:/churn/4")]  # doctest: +SKIP
    ['blessed', 'rejected']
    """
    from mainsail.core._uris import parse_address
    from mainsail.registry._registry import resolve_version

    addr = parse_address(model_address(model_address_), kind="models")
    if addr.version is None and addr.alias is None:
        rows = ctx.store.list_check_results(addr.name)
    else:
        v = resolve_version(ctx, str(addr))
        rows = ctx.store.list_check_results(v.name, v.version)
    return [from_row(r) for r in rows]


def latest_check(ctx: Context, model_address_: str) -> CheckResult | None:
    """The newest CheckResult of a version, or ``None`` when it was never checked."""
    found = get_check_results(ctx, model_address_)
    return found[0] if found else None


__all__ = [
    "from_row",
    "get_check_results",
    "json_safe",
    "latest_check",
    "model_address",
    "record_result",
]
