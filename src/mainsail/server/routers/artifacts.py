"""Artifact blobs, streamed both ways: upload returns the digest, download is verified.

Reading a blob is scoped by project like the metadata that points at it. A caller with a
role on every project (``*``) reads any blob; anyone else reads a blob they uploaded, or one
that a project they can view references: a run's artifact (the run's experiment), a dataset
version, a model version's folder manifest, a check report (the model), a monitor report
(the endpoint). A file inside a folder artifact is read ``?via=<manifest digest>``: the
manifest must be readable and list it. ``exists`` is not scoped (uploads deduplicate on it)
and reveals no content. Pipeline step outputs are referenced by no project, like pipeline
runs themselves (read with a role on ``*``), unless the reader uploaded them.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import PayloadTooLargeError, PermissionDeniedError
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from mainsail.client._context import Context

router = APIRouter(tags=["artifacts"])

Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


class Stored(Body):
    digest: str
    size: int


class Exists(Body):
    exists: bool


class Referenced(Body):
    files: list[str]
    dirs: list[str]


@router.post(
    "/artifacts",
    response_model=Stored,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "required": True,
        }
    },
)
async def upload_blob(
    request: Request, audit: Audit = permit("artifacts.upload", "developer")
) -> Any:
    """Stream the request body into the artifact store; returns its SHA-256 and size."""
    limit = request.app.state.mainsail.max_upload_bytes
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"Uploads are limited to {limit} bytes; this one is larger. "
                        "Raise the server's --max-upload-mb."
                    )
                await run_in_threadpool(out.write, chunk)
        digest, stored = await run_in_threadpool(context(request).artifacts.put_file, tmp)
    finally:
        os.unlink(tmp)
    audit.target = f"artifacts/{digest}"
    audit.after = {"size": stored}
    return {"digest": digest, "size": stored}


@router.get(
    "/artifacts/{digest}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_blob(
    request: Request,
    digest: Digest,
    via: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    principal: Principal = reader(),
) -> Any:
    """Stream a blob's plaintext; the server verifies the digest as it reads."""
    ctx = context(request)
    check_blob_access(ctx, principal, digest, via)
    artifacts = ctx.artifacts
    chunks = artifacts._read_plain(digest)
    first = next(chunks, b"")  # opens the blob now: a missing one is a 404, not a cut stream

    def body() -> Any:
        if first:
            yield first
        yield from chunks

    return StreamingResponse(
        body(), media_type="application/octet-stream", headers={"X-Mainsail-Digest": digest}
    )


@router.get("/artifacts/{digest}/exists", response_model=Exists)
def blob_exists(request: Request, digest: Digest, _: Any = reader()) -> Any:
    return {"exists": context(request).artifacts.exists(digest)}


@router.get("/referenced-digests", response_model=Referenced)
def referenced_digests(request: Request, _: Any = reader(global_scope, role="admin")) -> Any:
    files, dirs = context(request).store.referenced_digests()
    return {"files": sorted(files), "dirs": sorted(dirs)}


# -- project scoping ---------------------------------------------------------------------------
def blob_projects(conn: Connection, digest: str) -> set[str]:
    """The projects whose metadata references ``digest`` directly."""
    from mainsail.store import _tables as t

    queries = [
        sa.select(t.experiments.c.name)
        .join(t.runs, t.runs.c.experiment_id == t.experiments.c.id)
        .join(t.run_artifacts, t.run_artifacts.c.run_id == t.runs.c.id)
        .where(t.run_artifacts.c.digest == digest),
        sa.select(t.datasets.c.name)
        .join(t.dataset_versions, t.dataset_versions.c.dataset_id == t.datasets.c.id)
        .where(t.dataset_versions.c.blob_digest == digest),
        sa.select(t.models.c.name)
        .join(t.model_versions, t.model_versions.c.model_id == t.models.c.id)
        .where(t.model_versions.c.manifest_digest == digest),
        sa.select(t.models.c.name)
        .join(t.check_results, t.check_results.c.model_id == t.models.c.id)
        .where(
            sa.or_(
                t.check_results.c.report_digest == digest,
                t.check_results.c.html_digest == digest,
            )
        ),
        sa.select(t.monitors.c.endpoint)
        .join(t.monitor_results, t.monitor_results.c.monitor_id == t.monitors.c.id)
        .where(t.monitor_results.c.report_digest == digest),
    ]
    return {str(name) for name in conn.execute(sa.union(*queries)).scalars()}


def _uploaded_by(conn: Connection, actor: str, digest: str) -> bool:
    from mainsail.store import _tables as t

    ev = t.audit_events.c
    row = conn.execute(
        sa.select(ev.id)
        .where(
            ev.target == f"artifacts/{digest}",
            ev.action == "artifacts.upload",
            ev.actor == actor,
            ev.status < 400,
        )
        .limit(1)
    ).first()
    return row is not None


def _readable(conn: Connection, principal: Principal, digest: str) -> bool:
    if _uploaded_by(conn, principal.name, digest):
        return True
    return any(principal.may("viewer", p) for p in blob_projects(conn, digest))


def check_blob_access(ctx: Context, principal: Principal, digest: str, via: str | None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``principal`` may read ``digest``."""
    if principal.may("viewer", "*"):
        return
    with ctx.store.db.read() as conn:
        if _readable(conn, principal, digest):
            return
        via_ok = via is not None and via != digest and _readable(conn, principal, via)
    if via_ok and via is not None:
        listed = {e["digest"] for e in ctx.artifacts.read_manifest(via).values()}
        if digest in listed:
            return
    raise PermissionDeniedError(
        f"{principal.name!r} may not read blob sha256:{digest[:12]}: reading a blob needs the "
        "viewer role on a project that references it (a run's experiment, a dataset, a "
        "model), or to have uploaded it. A file of a folder artifact is read with "
        "?via=<the folder's manifest digest>. Ask an admin for a role on that project."
    )
