"""MLflow's proxied artifact routes (``/api/2.0/mlflow-artifacts/artifacts/...``).

A run's ``artifact_uri`` is ``mlflow-artifacts:/<experiment id>/<run id>/artifacts``; the
client turns it into these routes. An uploaded file becomes a content-addressed Mainsail blob
and an artifact of the run at the same relative path, so the SDK, CLI and UI see it.
"""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import PayloadTooLargeError
from mainsail.core._schemas import ArtifactRecord
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, permit, reader
from mainsail.server.routers._common import context, store
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute
from mainsail.server.routers.mlflow.logged_models import ARTIFACT_DIR, find

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])


def split(s: Any, path: str) -> tuple[str, str]:
    """``<exp>/<run>/artifacts/<rel>`` -> (run id, relative path).

    A logged model's files, ``<exp>/models/<model id>/artifacts/<rel>``, are its source run's
    artifacts under ``models/<model id>/<rel>``.
    """
    parts = [p for p in path.strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts) or "\\" in path:
        raise MlflowError(f"Invalid artifact path {path!r}: '..', '.' and '\\\\' are refused.")
    if len(parts) >= 4 and parts[1] == ARTIFACT_DIR and parts[3] == "artifacts":
        run, _ = find(s, parts[2])
        return run.id, "/".join([ARTIFACT_DIR, parts[2], *parts[4:]])
    if len(parts) < 3 or parts[2] != "artifacts":
        raise MlflowError(
            f"Expected an artifact path '<experiment id>/<run id>/artifacts/<path>'; got "
            f"{path!r}. Mainsail stores MLflow artifacts with their run.",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return parts[1], "/".join(parts[3:])


def _path_project(request: Request, s: Any) -> str | None:
    path = request.path_params.get("path") or request.query_params.get("path") or ""
    try:
        run_id, _ = split(s, str(path))
    except MlflowError:
        return None
    return s.run_experiment(run_id)  # type: ignore[no-any-return]


def _artifacts(request: Request, run_id: str) -> list[ArtifactRecord]:
    return list(store(request).get_run(run_id).artifacts)


@router.put("/artifacts/{path:path}")
async def upload(
    request: Request,
    path: str,
    audit: Audit = permit("runs.add_artifact", "developer", _path_project),
) -> Any:
    run_id, rel = await run_in_threadpool(split, store(request), path)
    if not rel:
        raise MlflowError(f"Expected a file path after 'artifacts/' in {path!r}.")
    limit = request.app.state.mainsail.max_upload_bytes
    fd, tmp = tempfile.mkstemp(prefix="mlflow-upload-", suffix=".part")
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
                out.write(chunk)
        digest, stored = await run_in_threadpool(context(request).artifacts.put_file, tmp)
    finally:
        os.unlink(tmp)
    audit.target = f"runs/{run_id}/artifacts/{rel}"
    audit.after = {"digest": digest, "size": stored, "via": "mlflow"}
    await run_in_threadpool(store(request).add_artifact, run_id, rel, digest, stored, "file")
    return {}


@router.get("/artifacts/{path:path}")
async def download(request: Request, path: str, _: Principal = reader(_path_project)) -> Any:
    run_id, rel = await run_in_threadpool(split, store(request), path)
    arts = await run_in_threadpool(_artifacts, request, run_id)
    found = next((a for a in arts if a.path == rel and a.kind == "file"), None)
    if found is None:
        raise MlflowError(f"Run {run_id} has no artifact file {rel!r}.", "RESOURCE_DOES_NOT_EXIST")
    chunks = context(request).artifacts.stream(found.digest)
    first = await run_in_threadpool(next, chunks, b"")

    def body() -> Any:
        if first:
            yield first
        yield from chunks

    return StreamingResponse(body(), media_type="application/octet-stream")


@router.get("/artifacts")
async def list_artifacts(
    request: Request,
    path: Annotated[str | None, Query(max_length=4096)] = None,
    _: Principal = reader(_path_project),
) -> Any:
    if not path:
        return {"files": []}
    run_id, rel = await run_in_threadpool(split, store(request), path)
    arts = await run_in_threadpool(_artifacts, request, run_id)
    prefix = rel.rstrip("/") + "/" if rel else ""
    files: dict[str, dict[str, Any]] = {}
    for a in arts:
        if not a.path.startswith(prefix) or a.path == rel:
            continue
        head, _sep, tail = a.path[len(prefix) :].partition("/")
        if tail:
            files.setdefault(head, {"path": head, "is_dir": True})
        else:
            files[head] = {"path": head, "is_dir": False, "file_size": a.size}
    return {"files": [files[k] for k in sorted(files)]}
