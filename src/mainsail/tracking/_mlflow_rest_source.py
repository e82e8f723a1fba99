"""Read a running MLflow server through its REST API into a local snapshot for the importer.

:func:`snapshot` copies what the importer reads (experiments, runs with params, tags and full
metric histories, logged models, registered models, versions and aliases) into a small SQLite
database with MLflow's table and column names, and downloads the proxied artifacts
(``mlflow-artifacts:/``) next to it, rewriting their URIs to the local copies. The importer
then reads the snapshot exactly as it reads an MLflow database. Credentials come from MLflow's
own variables: ``MLFLOW_TRACKING_TOKEN``, or ``MLFLOW_TRACKING_USERNAME`` and ``_PASSWORD``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from mainsail.core._errors import InvalidValueError, SchemaVersionError, StoreUnavailableError

KNOWN_SERVER = (3, 17)

_SCHEMA = """
create table alembic_version (version_num text);
create table experiments (experiment_id text, name text, artifact_location text,
    lifecycle_stage text);
create table runs (run_uuid text, name text, source_name text, source_version text,
    user_id text, status text, start_time integer, end_time integer, lifecycle_stage text,
    artifact_uri text, experiment_id text);
create table params (key text, value text, run_uuid text);
create table tags (key text, value text, run_uuid text);
create table metrics (key text, value real, timestamp integer, run_uuid text, step integer,
    is_nan integer);
create table logged_models (model_id text, experiment_id text, name text,
    artifact_location text, creation_timestamp_ms integer, last_updated_timestamp_ms integer,
    status text, model_type text, source_run_id text);
create table registered_models (name text, description text);
create table model_versions (name text, version integer, source text, run_id text,
    current_stage text, storage_location text, description text, status text, user_id text);
create table registered_model_aliases (alias text, version integer, name text);
create table model_version_tags (key text, value text, name text, version integer);
"""


class _Api:
    def __init__(self, url: str) -> None:
        headers = {}
        auth = None
        if os.environ.get("MLFLOW_TRACKING_TOKEN"):
            headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
        elif os.environ.get("MLFLOW_TRACKING_USERNAME"):
            auth = (
                os.environ["MLFLOW_TRACKING_USERNAME"],
                os.environ.get("MLFLOW_TRACKING_PASSWORD", ""),
            )
        self.base = url.rstrip("/")
        self.http = httpx.Client(base_url=self.base, headers=headers, auth=auth, timeout=60)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(
                f"Cannot reach the MLflow server at {self.base}: {exc}. Check the URL."
            ) from exc
        if r.status_code != 200:
            raise StoreUnavailableError(
                f"The MLflow server answered {r.status_code} to {method} {path}: "
                f"{r.text[:300]}. Check the URL and credentials (MLFLOW_TRACKING_TOKEN)."
            )
        return r

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, "/api/2.0/mlflow/" + path, **kw).json()

    def pages(
        self, path: str, key: str, body: dict[str, Any], method: str = "POST"
    ) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            fields = {**body, **({"page_token": token} if token else {})}
            if method == "GET":  # the registry's searches are GETs
                page = self.json(method, path, params=fields)
            else:
                page = self.json(method, path, json=fields)
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return


def _check_version(api: _Api) -> None:
    text = api.call("GET", "/version").text.strip()
    parts = text.split(".")
    try:
        version = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        raise InvalidValueError(
            f"{api.base} does not look like an MLflow server: /version answered {text[:60]!r}."
        ) from None
    if version > KNOWN_SERVER:
        raise SchemaVersionError(
            f"The MLflow server runs MLflow {text}, newer than this importer knows (up to "
            f"{KNOWN_SERVER[0]}.{KNOWN_SERVER[1]}). Upgrade Mainsail, or import from its database."
        )


def _download(api: _Api, uri: str, dest: Path) -> str:
    """Copy a proxied artifact folder to ``dest``; returns the URI to record."""
    if not uri.startswith("mlflow-artifacts:/"):
        return uri
    root = uri[len("mlflow-artifacts:") :].lstrip("/")

    def walk(path: str) -> None:
        listing = api.call("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
        for f in listing.json().get("files", []):
            child = f"{path}/{f['path'].rsplit('/', 1)[-1]}"
            if f.get("is_dir"):
                walk(child)
                continue
            target = dest / child[len(root) :].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            r = api.call("GET", "/api/2.0/mlflow-artifacts/artifacts/" + quote(child))
            target.write_bytes(r.content)

    dest.mkdir(parents=True, exist_ok=True)
    walk(root)
    return str(dest)


def snapshot(url: str, folder: Path) -> str:
    """Copy the MLflow server at ``url`` into ``folder``; returns the snapshot's SQL URL."""
    from mainsail.tracking._mlflow_import import KNOWN_REVISIONS

    api = _Api(url)
    try:
        _check_version(api)
        db = folder / "snapshot.db"
        conn = sqlite3.connect(db)
        conn.executescript(_SCHEMA)
        conn.execute("insert into alembic_version values (?)", (KNOWN_REVISIONS[-1],))
        exps = list(api.pages("experiments/search", "experiments", {"max_results": 1000}))
        for e in exps:
            eid = e["experiment_id"]
            conn.execute(
                "insert into experiments values (?,?,?,?)",
                (eid, e["name"], e.get("artifact_location"), e.get("lifecycle_stage")),
            )
            body = {"experiment_ids": [eid], "run_view_type": "ALL", "max_results": 1000}
            for run in api.pages("runs/search", "runs", body):
                _run(api, conn, run, folder)
            try:
                models = list(
                    api.pages("logged-models/search", "models", {"experiment_ids": [eid]})
                )
            except StoreUnavailableError:
                models = []  # an MLflow 2 server has no logged models
            for m in models:
                info = m["info"]
                loc = _download(
                    api, info.get("artifact_uri", ""), folder / "artifacts" / info["model_id"]
                )
                conn.execute(
                    "insert into logged_models values (?,?,?,?,?,?,?,?,?)",
                    (
                        info["model_id"],
                        eid,
                        info.get("name"),
                        loc,
                        info.get("creation_timestamp_ms"),
                        info.get("last_updated_timestamp_ms"),
                        info.get("status"),
                        info.get("model_type"),
                        info.get("source_run_id"),
                    ),
                )
        for rm in api.pages(
            "registered-models/search", "registered_models", {"max_results": 1000}, "GET"
        ):
            name = rm["name"]
            conn.execute(
                "insert into registered_models values (?,?)", (name, rm.get("description"))
            )
            for a in rm.get("aliases", []):
                conn.execute(
                    "insert into registered_model_aliases values (?,?,?)",
                    (a["alias"], int(a["version"]), name),
                )
            filt = "name = '" + name.replace("'", "''") + "'"
            for v in api.pages("model-versions/search", "model_versions", {"filter": filt}, "GET"):
                conn.execute(
                    "insert into model_versions values (?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        int(v["version"]),
                        v.get("source"),
                        v.get("run_id"),
                        v.get("current_stage"),
                        None,
                        v.get("description"),
                        v.get("status"),
                        v.get("user_id"),
                    ),
                )
                for t in v.get("tags", []):
                    conn.execute(
                        "insert into model_version_tags values (?,?,?,?)",
                        (t["key"], t.get("value"), name, int(v["version"])),
                    )
        conn.commit()
        conn.close()
        return f"sqlite:///{db}"
    finally:
        api.http.close()


def _run(api: _Api, conn: sqlite3.Connection, run: dict[str, Any], folder: Path) -> None:
    info, data = run["info"], run.get("data", {})
    rid = info["run_id"]
    uri = _download(api, info.get("artifact_uri", ""), folder / "artifacts" / rid)
    conn.execute(
        "insert into runs values (?,?,?,?,?,?,?,?,?,?,?)",
        (
            rid,
            info.get("run_name"),
            None,
            None,
            info.get("user_id"),
            info.get("status"),
            info.get("start_time"),
            info.get("end_time"),
            info.get("lifecycle_stage"),
            uri,
            info["experiment_id"],
        ),
    )
    conn.executemany(
        "insert into params values (?,?,?)",
        [(p["key"], p.get("value"), rid) for p in data.get("params", [])],
    )
    conn.executemany(
        "insert into tags values (?,?,?)",
        [(t["key"], t.get("value"), rid) for t in data.get("tags", [])],
    )
    for key in {m["key"] for m in data.get("metrics", [])}:
        token = None
        while True:
            params: dict[str, Any] = {"run_id": rid, "metric_key": key, "max_results": 25000}
            if token:
                params["page_token"] = token
            page = api.json("GET", "metrics/get-history", params=params)
            conn.executemany(
                "insert into metrics values (?,?,?,?,?,?)",
                [
                    (
                        m["key"],
                        _float(m.get("value")),
                        m.get("timestamp"),
                        rid,
                        m.get("step", 0),
                        int(_float(m.get("value")) != _float(m.get("value"))),
                    )
                    for m in page.get("metrics", [])
                ],
            )
            token = page.get("next_page_token")
            if not token:
                break


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
