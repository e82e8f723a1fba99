"""Artifact blobs, streamed both ways: upload returns the digest, download is verified."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import PayloadTooLargeError
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

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
def download_blob(request: Request, digest: Digest, _: Any = reader()) -> Any:
    """Stream a blob's plaintext; the server verifies the digest as it reads."""
    artifacts = context(request).artifacts
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
