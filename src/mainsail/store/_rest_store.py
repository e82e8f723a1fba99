"""The REST store: the ``Store`` protocol (and artifacts) over a Mainsail server's API.

Selected by ``MAINSAIL_TRACKING_URI=http://host:port``; the bearer token comes from
``MAINSAIL_TOKEN``. Server errors come back as the same ``MainsailError`` classes, with
the server's message, so code behaves the same against either store.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, BinaryIO

import httpx

from mainsail.core import _errors
from mainsail.core._errors import (
    AuthenticationError,
    CorruptedArtifactError,
    MainsailError,
    ServerError,
    StoreUnavailableError,
)
from mainsail.core._ids import hostname
from mainsail.core._registry_schemas import Alias, AliasChange, ModelVersion, RegisteredModel
from mainsail.core._schemas import DatasetVersion, Experiment, MetricPoint, Run
from mainsail.store._artifacts import ArtifactStore

MetricRow = tuple[str, float, int, int]
_CHUNK = 1 << 20
_API = "/api/v1"


def _error_from(resp: httpx.Response) -> MainsailError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    message = body.get("error") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = f"The server answered {resp.status_code} {resp.reason_phrase} without details."
    cls = getattr(_errors, str(body.get("type", "")) if isinstance(body, dict) else "", None)
    if not (isinstance(cls, type) and issubclass(cls, MainsailError)):
        cls = {401: AuthenticationError, 503: StoreUnavailableError}.get(
            resp.status_code, ServerError
        )
    exc = cls.__new__(cls)
    MainsailError.__init__(exc, message)
    return exc


class RestClient:
    """A small JSON client: base URL, bearer token, errors mapped to ``MainsailError``.

    Parameters
    ----------
    url : str
        The server, e.g. ``http://127.0.0.1:8080``.
    token : str, optional
        Bearer token (never logged).
    client : httpx.Client, optional
        A ready client (tests pass an in-process ASGI client).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client is None:
            client = httpx.Client(base_url=self.url, timeout=timeout, verify=verify)
        self._owned = client
        self.http = client
        self.http.headers.update(headers)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self.http.request(method, _API + path, **kw)
        except httpx.TransportError as exc:
            raise StoreUnavailableError(
                f"Expected a Mainsail server at {self.url}; could not reach it "
                f"({type(exc).__name__}). Start one with 'mainsail server' or fix "
                "MAINSAIL_TRACKING_URI."
            ) from None
        if resp.status_code >= 400:
            raise _error_from(resp)
        return resp

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        return None if resp.status_code == 204 or not resp.content else resp.json()

    def close(self) -> None:
        self._owned.close()


def _rows(points: Sequence[MetricRow]) -> list[list[Any]]:
    return [[k, float(v), int(s), int(ts)] for k, v, s, ts in points]


class RestStore:
    """The ``Store`` protocol over HTTP (plus the registry and security methods).

    Examples
    --------
    >>> store = RestStore(RestClient("http://127.0.0.1:8080", token="ms_..."))  # doctest: +SKIP
    >>> store.list_experiments()  # doctest: +SKIP
    []
    """

    def __init__(self, client: RestClient) -> None:
        self.client = client
        self.url = client.url

    def close(self) -> None:
        self.client.close()

    @property
    def db(self) -> Any:
        raise MainsailError(
            f"This needs direct access to the metadata database, and the store is the server "
            f"at {self.url}. Run it on the server host (without MAINSAIL_TRACKING_URI)."
        )

    def __getattr__(self, name: str) -> Any:
        # The domain SDKs (delivery, monitoring, checks, automation, jobs) call the server's
        # routes instead of store methods (mainsail.client._remote); pipelines and tracking
        # use the methods below. What is left needs the database itself: say so instead of
        # an AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        raise MainsailError(
            f"'{name}' needs the metadata database and the store is the server at "
            f"{self.url}: it runs on the server host (without MAINSAIL_TRACKING_URI). "
            f"The server's routes are listed at {self.url}/api/v1/docs."
        )

    # -- experiments and runs --------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> int:
        return int(self.client.json("POST", "/experiments", json={"name": name})["id"])

    def list_experiments(self) -> list[Experiment]:
        return [Experiment(**e) for e in self.client.json("GET", "/experiments")]

    def create_run(
        self,
        run_id: str,
        experiment: str,
        name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        environment: tuple[str, dict[str, Any]] | None = None,
        **fields: Any,
    ) -> None:
        body: dict[str, Any] = {
            "run_id": run_id,
            "experiment": experiment,
            "name": name,
            "params": dict(params or {}),
            "tags": dict(tags or {}),
            "host": hostname(),
            "pid": os.getpid(),
            **{k: v for k, v in fields.items() if v is not None},
        }
        if environment is not None:
            body["environment"] = {"digest": environment[0], "data": environment[1]}
        self.client.json("POST", "/runs", json=body)

    def get_run(self, run_id: str) -> Run:
        return Run(**self.client.json("GET", f"/runs/{_seg(run_id)}"))

    def run_status(self, run_id: str) -> str:
        return str(self.client.json("GET", f"/runs/{_seg(run_id)}/status")["status"])

    def end_run(self, run_id: str, status: str, metrics: Sequence[MetricRow] = ()) -> None:
        self.client.json(
            "POST", f"/runs/{_seg(run_id)}/end", json={"status": status, "metrics": _rows(metrics)}
        )

    def set_run_fields(self, run_id: str, **fields: Any) -> None:
        self.client.json("PATCH", f"/runs/{_seg(run_id)}", json=fields)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        if params:
            self.client.json("POST", f"/runs/{_seg(run_id)}/params", json={"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.client.json("POST", f"/runs/{_seg(run_id)}/tags", json={"tags": dict(tags)})

    def log_metrics(self, run_id: str, points: Sequence[MetricRow]) -> None:
        """One request per batch (the tracking client buffers and flushes in batches)."""
        if points:
            self.client.json(
                "POST", f"/runs/{_seg(run_id)}/metrics", json={"points": _rows(points)}
            )

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        data = self.client.json("GET", f"/runs/{_seg(run_id)}/metric-history", params={"key": key})
        return [MetricPoint(**p) for p in data]

    def add_artifact(self, run_id: str, path: str, digest: str, size: int, kind: str) -> None:
        self.client.json(
            "POST",
            f"/runs/{_seg(run_id)}/artifacts",
            json={"path": path, "digest": digest, "size": size, "kind": kind},
        )

    def add_run_input(self, run_id: str, dataset_version_id: int, context: str | None) -> None:
        self.client.json(
            "POST",
            f"/runs/{_seg(run_id)}/inputs",
            json={"dataset_version_id": dataset_version_id, "context": context},
        )

    def get_environment(self, digest: str) -> dict[str, Any] | None:
        data = self.client.json("GET", f"/environments/{_seg(digest)}")
        return dict(data) if data is not None else None

    def search_runs(
        self,
        experiments: Sequence[str] | None = None,
        filter_expr: Any = None,
        order_by: Sequence[Any] = (),
        max_results: int | None = 1000,
    ) -> list[Run]:
        params: list[tuple[str, str]] = [("experiment", e) for e in experiments or ()]
        if filter_expr is not None:
            params.append(("filter", filter_expr.to_text()))
        for key in order_by:
            text = f"{key.entity}.`{key.key}`" + (" DESC" if key.descending else " ASC")
            params.append(("order_by", text))
        if max_results is not None:
            params.append(("max_results", str(int(max_results))))
        return [Run(**r) for r in self.client.json("GET", "/runs", params=params)]

    def reap_dead_runs(self) -> int:
        return int(self.client.json("POST", "/runs/reap")["reaped"])

    # -- datasets --------------------------------------------------------------------------
    def create_dataset_version(self, name: str, **fields: Any) -> tuple[DatasetVersion, bool]:
        data = self.client.json("POST", f"/datasets/{_seg(name)}/versions", json=fields)
        return DatasetVersion(**data["version"]), bool(data["created"])

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        path = f"/datasets/{_seg(name)}/" + ("latest" if version is None else f"versions/{version}")
        return DatasetVersion(**self.client.json("GET", path))

    def list_datasets(self) -> list[dict[str, Any]]:
        return list(self.client.json("GET", "/datasets"))

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        return [
            DatasetVersion(**v) for v in self.client.json("GET", f"/datasets/{_seg(name)}/versions")
        ]

    def referenced_digests(self) -> tuple[set[str], set[str]]:
        data = self.client.json("GET", "/referenced-digests")
        return set(data["files"]), set(data["dirs"])

    # -- registry --------------------------------------------------------------------------
    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        return ModelVersion(
            **self.client.json("POST", f"/models/{_seg(name)}/versions", json=fields)
        )

    def get_model_version(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> ModelVersion:
        params: dict[str, Any] = {}
        if version is not None:
            params["version"] = int(version)
        if alias is not None:
            params["alias"] = alias
        return ModelVersion(
            **self.client.json("GET", f"/models/{_seg(name)}/resolve", params=params)
        )

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return [
            ModelVersion(**v) for v in self.client.json("GET", f"/models/{_seg(name)}/versions")
        ]

    def list_models(self) -> list[RegisteredModel]:
        return [RegisteredModel(**m) for m in self.client.json("GET", "/models")]

    def set_version_status(self, name: str, version: int, status: str) -> ModelVersion:
        return ModelVersion(
            **self.client.json(
                "POST",
                f"/models/{_seg(name)}/versions/{int(version)}/status",
                json={"status": status},
            )
        )

    def update_model_version(self, name: str, version: int, **fields: Any) -> ModelVersion:
        return ModelVersion(
            **self.client.json(
                "PATCH", f"/models/{_seg(name)}/versions/{int(version)}", json=fields
            )
        )

    def delete_model_version(self, name: str, version: int) -> None:
        self.client.json("DELETE", f"/models/{_seg(name)}/versions/{int(version)}")

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        actor: str | None,
        require_checks: bool | None = None,
    ) -> Alias:
        body = {"version": int(version), "require_checks": require_checks, "actor": actor}
        return Alias(
            **self.client.json("PUT", f"/models/{_seg(name)}/aliases/{_seg(alias)}", json=body)
        )

    def delete_alias(self, name: str, alias: str, actor: str | None) -> None:
        params = {"actor": actor} if actor else {}
        self.client.json("DELETE", f"/models/{_seg(name)}/aliases/{_seg(alias)}", params=params)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        params = {"alias": alias} if alias is not None else {}
        data = self.client.json("GET", f"/models/{_seg(name)}/alias-history", params=params)
        return [AliasChange(**c) for c in data]

    def model_digests(self) -> set[str]:
        return self.referenced_digests()[1]

    # -- pipeline runs, step runs and the step cache ---------------------------------------
    def create_pipeline_run(
        self,
        pipeline_run_id: str,
        pipeline: str,
        run_id: str | None,
        params: Mapping[str, Any],
        executor: str,
        trigger: Mapping[str, Any] | None = None,
    ) -> None:
        body = {
            "id": pipeline_run_id,
            "pipeline": pipeline,
            "run_id": run_id,
            "params": dict(params),
            "executor": executor,
            "trigger": dict(trigger) if trigger is not None else None,
        }
        self.client.json("POST", "/pipeline-runs", json=body)

    def finish_pipeline_run(
        self,
        pipeline_run_id: str,
        status: str,
        outputs: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        body = {"status": status, "outputs": dict(outputs), "error": error}
        self.client.json("POST", f"/pipeline-runs/{_seg(pipeline_run_id)}/finish", json=body)

    def get_pipeline_run_row(self, pipeline_run_id: str) -> dict[str, Any]:
        """A pipeline run by id, or by a unique prefix of at least 6 characters."""
        return _pipeline_row(self.client.json("GET", f"/pipeline-runs/{_seg(pipeline_run_id)}"))

    def list_pipeline_run_rows(
        self, pipeline: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": int(limit)}
        if pipeline is not None:
            params["pipeline"] = pipeline
        if status is not None:
            params["status"] = status
        return [_pipeline_row(r) for r in self.client.json("GET", "/pipeline-runs", params=params)]

    def add_step_run(self, **fields: Any) -> int:
        body = dict(fields)
        prid = str(body.pop("pipeline_run_id"))
        data = self.client.json("POST", f"/pipeline-runs/{_seg(prid)}/step-runs", json=body)
        return int(data["id"])

    def update_step_run(self, step_run_id: int, **fields: Any) -> None:
        self.client.json("PATCH", f"/step-runs/{int(step_run_id)}", json=fields)

    def step_run_rows(self, pipeline_run_id: str) -> list[dict[str, Any]]:
        return list(self.client.json("GET", f"/pipeline-runs/{_seg(pipeline_run_id)}/step-runs"))

    def step_runs_producing(self, digest: str) -> list[dict[str, Any]]:
        """Step runs that wrote (or reused) an output with this digest, oldest first."""
        return list(self.client.json("GET", "/step-runs", params={"produced": digest}))

    def previous_step_run(self, pipeline: str, step: str, before_id: int) -> dict[str, Any] | None:
        params = {"pipeline": pipeline, "step": step, "before": int(before_id)}
        data = self.client.json("GET", "/step-runs/previous", params=params)
        return dict(data) if data is not None else None

    def get_cache_entry(self, cache_key: str) -> dict[str, Any] | None:
        data = self.client.json("GET", f"/step-cache/{_seg(cache_key)}")
        return dict(data) if data is not None else None

    def latest_cache_entry(self, step: str) -> dict[str, Any] | None:
        data = self.client.json("GET", "/step-cache/latest", params={"step": step})
        return dict(data) if data is not None else None

    def begin_cache_entry(
        self,
        cache_key: str,
        step: str,
        components: Mapping[str, Any],
        pipeline_run_id: str,
        replace_committed: bool = False,
    ) -> bool:
        """Claim ``cache_key``; the server decides atomically (see the SQL store)."""
        body = {
            "step": step,
            "components": dict(components),
            "pipeline_run_id": pipeline_run_id,
            "replace_committed": replace_committed,
        }
        data = self.client.json("POST", f"/step-cache/{_seg(cache_key)}/claim", json=body)
        return bool(data["claimed"])

    def commit_cache_entry(self, cache_key: str, outputs: Mapping[str, Any]) -> None:
        body = {"outputs": dict(outputs)}
        self.client.json("POST", f"/step-cache/{_seg(cache_key)}/commit", json=body)

    def release_cache_entry(self, cache_key: str, pipeline_run_id: str) -> bool:
        body = {"pipeline_run_id": pipeline_run_id}
        data = self.client.json("POST", f"/step-cache/{_seg(cache_key)}/release", json=body)
        return bool(data["released"])

    def invalidate_cache_entry(self, cache_key: str) -> None:
        self.client.json("POST", f"/step-cache/{_seg(cache_key)}/invalidate")

    # -- the job queue, for a worker on another host (mainsail.jobs.Worker) ----------------
    def claim_job(
        self,
        queues: Sequence[str],
        worker_id: str,
        lease_ms: int,
        kinds: Sequence[str] | None = None,
        wait_s: float = 0.0,
    ) -> dict[str, Any] | None:
        """Claim a due job of ``kinds``; the server waits up to ``wait_s`` for one (or None)."""
        if kinds is None:
            raise _errors.InvalidValueError(
                "A worker claiming through the server names the job kinds it runs "
                "(kinds=[...]); got none. mainsail.jobs.Worker does this for you."
            )
        body = {
            "queues": list(queues),
            "kinds": list(kinds),
            "worker_id": worker_id,
            "lease_ms": int(lease_ms),
            "wait_s": float(wait_s),
        }
        data = self.client.json("POST", "/jobs/claim", json=body)
        return dict(data) if data is not None else None

    def heartbeat_job(self, job_id: int, worker_id: str, lease_ms: int) -> bool:
        body = {"worker_id": worker_id, "lease_ms": int(lease_ms)}
        return bool(self.client.json("POST", f"/jobs/{int(job_id)}/heartbeat", json=body)["held"])

    def complete_job(self, job_id: int, worker_id: str, result: Any) -> bool:
        body = {"worker_id": worker_id, "result": result}
        return bool(self.client.json("POST", f"/jobs/{int(job_id)}/complete", json=body)["held"])

    def fail_job(
        self, job_id: int, worker_id: str, error: str, retry_delay_ms: int, retry: bool = True
    ) -> str | None:
        body = {
            "worker_id": worker_id,
            "error": error[-100_000:] or "(no message)",  # the newest lines of a long trace
            "retry_delay_ms": int(retry_delay_ms),
            "retry": retry,
        }
        status = self.client.json("POST", f"/jobs/{int(job_id)}/fail", json=body)["status"]
        return str(status) if status is not None else None


def _pipeline_row(data: dict[str, Any]) -> dict[str, Any]:
    """A pipeline run from the API as the SQL store's row (``outputs``, no steps)."""
    row = {k: v for k, v in data.items() if k not in ("steps", "output_meta")}
    row["outputs"] = data.get("output_meta") or {}
    return row


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


class RestArtifactStore(ArtifactStore):
    """Artifacts through the server: uploads and downloads are streamed, reads verified here.

    The server holds the storage (a folder or S3) and the encryption key; this client only
    streams plaintext to and from it, checking every digest it receives.
    """

    def __init__(self, client: RestClient) -> None:  # no local root
        self.client = client
        self.cipher = None
        self.root_url = f"{client.url}{_API}/artifacts"
        self.is_local = False

    def put_stream(self, stream: BinaryIO | IO[bytes]) -> tuple[str, int]:
        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(_CHUNK):
                yield chunk

        data = self.client.json(
            "POST",
            "/artifacts",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return str(data["digest"]), int(data["size"])

    def put_bytes(self, data: bytes) -> str:
        return str(
            self.client.json(
                "POST",
                "/artifacts",
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )["digest"]
        )

    def _read_plain(self, digest: str, via: str | None = None) -> Iterator[bytes]:
        from mainsail.store._artifacts import _check_digest

        _check_digest(digest)
        if via is not None:
            _check_digest(via)
        h = hashlib.sha256()
        params = {"via": via} if via is not None else None
        with self.client.http.stream("GET", f"{_API}/artifacts/{digest}", params=params) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise _error_from(resp)
            for chunk in resp.iter_bytes(_CHUNK):
                h.update(chunk)
                yield chunk
        if h.hexdigest() != digest:
            raise CorruptedArtifactError(
                f"Blob sha256:{digest} from {self.client.url} did not match its digest on "
                "arrival (cut or changed in transit, or damaged on the server). Nothing was "
                "loaded from it; try again, and check the server's artifact store."
            )

    def exists(self, digest: str) -> bool:
        return bool(self.client.json("GET", f"/artifacts/{digest}/exists")["exists"])

    def iter_digests(self) -> Iterator[str]:
        raise MainsailError(
            "Listing or deleting blobs is done on the server ('mainsail gc' there), "
            "not through MAINSAIL_TRACKING_URI."
        )

    def delete(self, digest: str) -> None:
        self.iter_digests()

    def size(self, digest: str) -> int:
        return len(self.get_bytes(digest))

    def clear_staging(self) -> int:
        return 0
