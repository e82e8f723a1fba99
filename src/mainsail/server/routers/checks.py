"""Release checks over HTTP: run ``mainsail.check`` on a version, list and read results.

The project is the model name; running checks needs the developer role. Data must be a
registered dataset (``datasets:/name/version``) and the policy a JSON object: the server
never reads files a caller names.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from pydantic import Field

from mainsail.checks._types import CheckResult
from mainsail.core._errors import InvalidValueError, NotFoundError
from mainsail.server._auth import Audit, from_path, permit, reader
from mainsail.server.routers._common import Body, store
from mainsail.server.routers._sdk import sdk
from mainsail.store._sql_store import SqlStore

router = APIRouter(tags=["checks"])

ModelName = Annotated[str, Path(min_length=1, max_length=250)]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1)]
ResultId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class CheckIn(Body):
    data: Annotated[str, Field(min_length=11, max_length=500, pattern=r"^datasets:/.+")]
    baseline: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    label: Annotated[str, Field(min_length=1, max_length=250)] | None = None


@router.get("/models/{name}/versions/{version}/checks", response_model=list[CheckResult])
def list_checks(
    request: Request, name: ModelName, version: VersionNo, _: Any = reader(from_path("name"))
) -> Any:
    """The version's check results, newest first."""
    from mainsail.checks._runner import from_row

    s = store(request)
    s.get_model_version(name, version)  # 404 for an unknown version
    return [from_row(r) for r in s.list_check_results(name, version)]


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
    base = body.baseline
    if base is not None and not (base.startswith("@") or base.isdigit()):
        own = (f"models:/{name}/", f"models:/{name}@", f"{name}/", f"{name}@")
        if not base.startswith(own):
            raise InvalidValueError(
                f"The baseline {base!r} is not a version of model {name!r}. Use an alias "
                f"('@champion'), a version number or 'models:/{name}/N'."
            )
    with sdk(request):
        result = check(
            f"models:/{name}/{version}",
            body.data,
            label=body.label,
            baseline=body.baseline,
            policy=body.policy,
            progress=False,
        )
    audit.after = {"id": result.id, "verdict": result.verdict}
    return result


def check_project(request: Request, s: SqlStore) -> str | None:
    """The project of a check result is its model's name."""
    from mainsail.store import _tables as t

    try:
        rid = int(request.path_params["result_id"])
    except (KeyError, ValueError):
        return None
    with s.db.read() as conn:
        return conn.execute(  # type: ignore[no-any-return]
            sa.select(t.models.c.name)
            .join(t.check_results, t.check_results.c.model_id == t.models.c.id)
            .where(t.check_results.c.id == rid)
        ).scalar()


@router.get("/checks/{result_id}", response_model=CheckResult)
def get_check(request: Request, result_id: ResultId, _: Any = reader(check_project)) -> Any:
    from mainsail.checks._runner import from_row

    row = store(request).get_check_result(result_id)
    if row is None:
        raise NotFoundError(
            f"No check result with id {result_id}. List a version's results with "
            "GET /api/v1/models/NAME/versions/N/checks."
        )
    return from_row(row)
