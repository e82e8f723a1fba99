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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import (
    InvalidValueError,
    MainsailError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import LocalStore

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
    chunks = ctx.artifacts.stream(digest)
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
def _referenced_for(store: LocalStore, principal: Principal, digest: str) -> bool:
    return any(principal.may("viewer", p) for p in store.blob_projects(digest))


_MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_listed_cache: dict[str, frozenset[str]] = {}  # manifests are content-addressed: never stale


def manifest_files(ctx: Context, digest: str) -> frozenset[str] | None:
    """The digests a folder manifest lists, or ``None`` if the blob is not a manifest."""
    if digest in _listed_cache:
        return _listed_cache[digest]
    try:
        if ctx.artifacts.size(digest) > _MAX_MANIFEST_BYTES:
            return None
        listed = frozenset(str(e["digest"]) for e in ctx.artifacts.read_manifest(digest).values())
    except (MainsailError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(_listed_cache) >= 1024:
        _listed_cache.clear()
    _listed_cache[digest] = listed
    return listed


def check_blob_access(ctx: Context, principal: Principal, digest: str, via: str | None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``principal`` may read ``digest``.

    ``via`` must be a manifest that a project the caller can view references (having
    uploaded a blob that looks like a manifest is not enough: anyone can write one), and it
    must list ``digest``. References are checked when written (:func:`check_reference`), so
    a referenced manifest only lists blobs its writer could read.
    """
    if principal.may("viewer", "*"):
        return
    store = ctx.database("Reading a blob through the server")
    if store.uploaded_blob(principal.name, digest) or _referenced_for(store, principal, digest):
        return
    if via is not None and via != digest and _referenced_for(store, principal, via):
        listed = manifest_files(ctx, via)
        if listed is not None and digest in listed:
            return
    raise PermissionDeniedError(
        f"{principal.name!r} may not read blob sha256:{digest[:12]}: reading a blob needs the "
        "viewer role on a project that references it (a run's experiment, a dataset, a "
        "model), or to have uploaded it. A file of a folder artifact is read with "
        "?via=<the folder's manifest digest>. Ask an admin for a role on that project."
    )


def check_reference(
    ctx: Context,
    principal: Principal,
    digest: str,
    folder: bool = False,
    files: Iterable[str] = (),
) -> None:
    """Before metadata points at ``digest``: the writer must be able to read it.

    Otherwise writing a reference (a run artifact, a dataset or model version, a report)
    would grant its project's readers, and the writer, a blob they never had. For a folder
    the manifest and every file it lists are checked, and so are ``files`` (a model
    version's path -> digest map).
    """
    if principal.may("viewer", "*"):
        return
    wanted = {digest, *files}
    if folder:
        listed = manifest_files(ctx, digest)
        if listed is None:
            raise InvalidValueError(
                f"Expected blob sha256:{digest[:12]} to be a folder manifest; it is not (or "
                "it is missing). Upload the folder first and reference its manifest digest."
            )
        wanted |= listed
    for d in sorted(wanted):
        check_blob_access(ctx, principal, d, via=None)
