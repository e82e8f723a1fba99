"""Datasets: content-addressed versions (the table itself is an artifact blob)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import Field

from mainsail.core._schemas import Dataset, DatasetVersion
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, from_path, permit, reader
from mainsail.server.routers._common import Body, context, store
from mainsail.server.routers.artifacts import check_reference

router = APIRouter(tags=["datasets"])

DatasetName = Annotated[str, Path(min_length=1, max_length=250)]


class DatasetVersionIn(Body):
    digest: Annotated[str, Field(min_length=1, max_length=64)]
    blob_digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    format: Annotated[str, Field(min_length=1, max_length=16)]
    row_count: Annotated[int, Field(ge=0, le=2**63 - 1)]
    schema_: dict[str, Any] = Field(alias="schema")
    profile: dict[str, Any]
    source: Annotated[str, Field(max_length=1024)] | None = None
    parents: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    description: str | None = None
    run_id: Annotated[str, Field(max_length=32)] | None = None


class CreatedVersion(Body):
    version: DatasetVersion
    created: bool


@router.get("/datasets", response_model=list[Dataset])
def list_datasets(request: Request, principal: Principal = reader()) -> Any:
    return [d for d in store(request).list_datasets() if principal.role_in(d.name)]


@router.post("/datasets/{name}/versions", response_model=CreatedVersion)
def create_dataset_version(
    request: Request,
    name: DatasetName,
    body: DatasetVersionIn,
    audit: Audit = permit("datasets.create_version", "developer", from_path("name")),
) -> Any:
    fields = body.model_dump(by_alias=True, exclude_none=True)
    check_reference(context(request), audit.principal, body.blob_digest)
    dv, created = store(request).create_dataset_version(name, **fields)
    audit.target = f"datasets/{name}/{dv.version}"
    audit.after = {"digest": dv.digest, "created": created}
    return {"version": dv, "created": created}


@router.get("/datasets/{name}/versions", response_model=list[DatasetVersion])
def list_dataset_versions(
    request: Request, name: DatasetName, _: Any = reader(from_path("name"))
) -> Any:
    return store(request).list_dataset_versions(name)


@router.get("/datasets/{name}/latest", response_model=DatasetVersion)
def latest_dataset_version(
    request: Request, name: DatasetName, _: Any = reader(from_path("name"))
) -> Any:
    return store(request).get_dataset_version(name, None)


@router.get("/datasets/{name}/versions/{version}", response_model=DatasetVersion)
def get_dataset_version(
    request: Request,
    name: DatasetName,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    _: Any = reader(from_path("name")),
) -> Any:
    return store(request).get_dataset_version(name, version)
