"""Release checks over HTTP: run ``mainsail.check`` on a version, list and read results.

The project is the model name; running checks needs the developer role. Data must be a
registered dataset (``datasets:/name/version``) and the policy a JSON object: the server
never reads files a caller names. The server reads with its own rights, so the caller must
be able to view every project a check names: the dataset, the endpoint and the baseline
model (403 otherwise); the baseline must be a version of the same model.

A client that ran the checks itself (on a DataFrame or a file of its own, or with a custom
check the server does not have) records its result with ``POST .../checks/record``: the
server re-derives the verdict from the outcomes and the policy, refuses a result that does
not follow the verdict rule, and marks it as computed by the client, recorded by the
caller (in the result and in the audit event). Such a result is stored and listed, but the
``require_checks`` alias gate ignores it: a developer could send any outcomes and policy,
so only a result the server computed (``POST .../checks``) opens the gate. A client learns
which checks the server has (built-ins and installed plug-ins) from ``GET /checks/kinds``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from mainsail.checks._types import CheckOutcome, CheckResult
from mainsail.core._errors import InvalidValueError, NotFoundError, PermissionDeniedError
from mainsail.core._uris import parse_address
from mainsail.security._roles import Principal
from mainsail.server._auth import (
    Audit,
    denied,
    from_path,
    looked_up,
    permit,
    principal_of,
    reader,
)
from mainsail.server.routers._common import Body, context, store
from mainsail.server.routers.artifacts import check_blob_access
from mainsail.store._sql_checks import CLIENT
from mainsail.store.protocols import LocalStore

router = APIRouter(tags=["checks"])

ModelName = Annotated[str, Path(min_length=1, max_length=250)]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1)]
ResultId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Limit = Annotated[int | None, Query(ge=1, le=10_000)]


class CheckIn(Body):
    data: Annotated[str, Field(min_length=11, max_length=500, pattern=r"^datasets:/.+")]
    baseline: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    label: Annotated[str, Field(min_length=1, max_length=250)] | None = None
    endpoint: Annotated[str, Field(min_length=1, max_length=250)] | None = None


Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class CheckRecordIn(Body):
    """A result the client computed: what ``mainsail.check`` would store."""

    verdict: Literal["blessed", "rejected"]
    baseline_version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    data_ref: Annotated[str, Field(min_length=1, max_length=1000)]
    policy: dict[str, Any] = Field(default_factory=dict)
    checks: Annotated[list[CheckOutcome], Field(max_length=10000)]
    summary: dict[str, Any] = Field(default_factory=dict)
    report_digest: Digest | None = None
    html_digest: Digest | None = None


class CheckKinds(BaseModel):
    checks: list[str]


async def _authenticated(request: Request) -> Principal:
    return await principal_of(request, scope="read")


@router.get("/checks/kinds", response_model=CheckKinds)
def check_kinds(_: Any = Depends(_authenticated)) -> Any:
    """The checks this server runs (the policy keys of its registered checks): a client
    asks the server to run a policy only when the server has every check it names."""
    from mainsail.checks import available_checks

    return {"checks": available_checks()}


@router.get("/models/{name}/checks", response_model=list[CheckResult])
def list_model_checks(
    request: Request, name: ModelName, limit: Limit = None, _: Any = reader(from_path("name"))
) -> Any:
    """Check results of every version of the model, newest first."""
    from mainsail.checks._results import from_row

    return [from_row(r) for r in store(request).list_check_results(name, limit=limit)]


@router.get("/models/{name}/versions/{version}/checks", response_model=list[CheckResult])
def list_checks(
    request: Request,
    name: ModelName,
    version: VersionNo,
    limit: Limit = None,
    _: Any = reader(from_path("name")),
) -> Any:
    """The version's check results, newest first (404 for an unknown version)."""
    from mainsail.checks._results import from_row

    return [from_row(r) for r in store(request).list_check_results(name, version, limit)]


@router.post(
    "/models/{name}/versions/{version}/checks", status_code=201, response_model=CheckResult
)
def run_checks(
    request: Request,
    name: ModelName,
    version: VersionNo,
    body: CheckIn,
    audit: Audit = permit("checks.run", "developer", from_path("name")),
) -> Any:
    """Run the policy's release checks on the version and record the result on it."""
    from mainsail.checks import check

    audit.target = f"models/{name}/{version}"
    store(request).get_model_version(name, version)
    audit.before = {"data": body.data, "baseline": body.baseline}
    # the server reads what the check names with its own rights: the caller must be able
    # to view each project named, or it could read (or probe) other projects' data
    may_view(audit.principal, dataset_project(body.data), f"dataset {body.data!r}")
    if body.endpoint is not None:
        may_view(audit.principal, body.endpoint, f"endpoint {body.endpoint!r}")
    if body.baseline is not None:
        base = baseline_model(name, body.baseline)
        may_view(audit.principal, base, f"baseline {body.baseline!r}")
        if base != name:
            raise InvalidValueError(
                f"The baseline {body.baseline!r} is not a version of model {name!r}. Use an "
                f"alias ('@champion'), a version number or 'models:/{name}/N'."
            )
    result = check(
        context(request),
        f"models:/{name}/{version}",
        body.data,
        label=body.label,
        baseline=body.baseline,
        policy=body.policy,
        progress=False,
        endpoint=body.endpoint,
        created_by=audit.actor,  # the authenticated caller, not the server's OS user
    )
    audit.after = {"id": result.id, "verdict": result.verdict}
    return result


@router.post(
    "/models/{name}/versions/{version}/checks/record", status_code=201, response_model=CheckResult
)
def record_checks(
    request: Request,
    name: ModelName,
    version: VersionNo,
    body: CheckRecordIn,
    audit: Audit = permit("checks.record", "developer", from_path("name")),
) -> Any:
    """Record a result the client computed; the verdict must follow from its outcomes.

    The result is marked ``computed_by: client``; the ``require_checks`` gate ignores it.
    """
    from mainsail.checks._plan import decide_verdict
    from mainsail.checks._policy import load_policy
    from mainsail.checks._results import from_row

    audit.target = f"models/{name}/{version}"
    s = store(request)
    s.get_model_version(name, version)  # 404 for an unknown version
    if body.baseline_version is not None:
        if body.baseline_version == version:
            raise InvalidValueError(
                f"The baseline version {version} is the checked version itself. Record the "
                "version the checks compared with, or none."
            )
        s.get_model_version(name, body.baseline_version)
    try:
        # a client may have run checks this server does not have: their sections are kept
        configured = load_policy(body.policy, unknown="keep").configured()
    except InvalidValueError as exc:
        raise InvalidValueError(
            f"The policy of the recorded result is not a release-check policy: {exc.message} "
            "Send what CheckPolicy.to_dict() gives."
        ) from None
    verdict, reason = decide_verdict(body.checks, configured)
    if verdict != body.verdict:
        raise InvalidValueError(
            f"The recorded verdict is {body.verdict!r} but its outcomes and policy give "
            f"{verdict!r} ({reason}) Record the verdict mainsail.check derives."
        )
    if body.data_ref.startswith("datasets:/"):  # else a label (a DataFrame digest, a path)
        ref = body.data_ref
        may_view(audit.principal, dataset_project(ref), f"dataset {ref!r}")
    ctx = context(request)
    for key in ("report_digest", "html_digest"):
        digest = getattr(body, key)
        if digest is None:
            continue
        if not ctx.artifacts.exists(digest):
            raise InvalidValueError(
                f"{key} {digest[:12]}... is not in the artifact store. Upload the report "
                "first (POST /api/v1/artifacts), then record the result."
            )
        # a stored result makes its reports readable to the model's viewers: it may link
        # only blobs the caller may read itself (uploaded, or of a project it can view)
        check_blob_access(ctx, audit.principal, digest, None)
    summary = {**body.summary, "reason": reason, "computed_by": CLIENT}
    audit.before = {"data": body.data_ref, "computed_by": CLIENT}
    row = s.create_check_result(
        name,
        version,
        verdict=verdict,
        baseline_version=body.baseline_version,
        data_ref=body.data_ref,
        policy=body.policy,
        checks=[o.model_dump(mode="json") for o in body.checks],
        summary=summary,
        report_digest=body.report_digest,
        html_digest=body.html_digest,
        created_by=audit.actor,
    )
    audit.after = {"id": row["id"], "verdict": verdict, "computed_by": CLIENT}
    return from_row(row)


def may_view(principal: Principal, project: str, what: str) -> None:
    """:class:`PermissionDeniedError` (403) unless ``principal`` may view ``project``."""
    if not principal.may("viewer", project):
        err = denied(principal, "viewer", project)
        raise PermissionDeniedError(f"The check names the {what}: {err}") from None


def dataset_project(ref: str) -> str:
    """The dataset name (its project) of a ``datasets:/name/N`` address."""
    return parse_address(ref, kind="datasets").name


def baseline_model(name: str, ref: str) -> str:
    """The model a baseline names, read as :func:`mainsail.check` reads it."""
    text = ref.strip()
    if text.startswith("@"):
        return name
    if text.isdigit():
        return name
    return parse_address(text if text.startswith("models:/") else f"models:/{text}").name


@looked_up
def check_project(request: Request, s: LocalStore) -> str | None:
    """The project of a check result is its model's name."""
    try:
        rid = int(request.path_params["result_id"])
    except (KeyError, ValueError):
        return None
    if not 1 <= rid < 2**63:  # runs before path validation: the 422 comes next
        return None
    row = s.get_check_result(rid)
    return None if row is None else str(row["model"])


@router.get("/checks/{result_id}", response_model=CheckResult)
def get_check(request: Request, result_id: ResultId, _: Any = reader(check_project)) -> Any:
    from mainsail.checks._results import from_row

    row = store(request).get_check_result(result_id)
    if row is None:
        raise NotFoundError(
            f"No check result with id {result_id}. List a version's results with "
            "GET /api/v1/models/NAME/versions/N/checks."
        )
    return from_row(row)
