"""Import an MLflow tracking store (its database and artifact folders) into Mainsail.

``import_mlflow(ctx, "sqlite:///mlflow.db")`` copies experiments, runs (params, every metric
point, tags, status, times), their artifact files and MLflow 3 logged models, then the
registered models: versions (converted by :mod:`mainsail.registry._mlflow`), aliases, and
stages as aliases. MLflow ids are kept: a run keeps its id (tagged ``mlflow.run_id`` and
``mlflow.experiment_id``), a version is tagged ``mlflow.model_version``. Re-running imports only
what is new. The source is read with SQL (any database MLflow supports, through SQLAlchemy);
artifacts are read from the local paths the store records. A store whose schema (its alembic
revision) is newer than this importer knows is refused before anything is read.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import sqlalchemy as sa

from mainsail.core._errors import InvalidValueError, SchemaVersionError
from mainsail.tracking._mlflow import (
    LIFECYCLE_TAG,
    LOGGED_MODEL_DIR,
    LOGGED_MODEL_TAG_PREFIX,
    RUN_STATUSES,
)

if TYPE_CHECKING:
    from mainsail.store._context import Context

# MLflow's alembic revisions, oldest first, up to MLflow 3.17 (mlflow/store/db_migrations).
KNOWN_REVISIONS = [
    "451aebb31d03",
    "90e64c465722",
    "181f10493468",
    "df50e92ffc5e",
    "7ac759974ad8",
    "89d4b8295536",
    "2b4d017a5e9b",
    "cfd24bdc0731",
    "0a8213491aaa",
    "728d730b5ebd",
    "27a6a02d2cf1",
    "84291f40a231",
    "a8c4a736bde6",
    "39d1c3be5f05",
    "c48cb773bb87",
    "bd07f7e963c5",
    "0c779009ac13",
    "cc1f77228345",
    "97727af70f4d",
    "3500859a5d39",
    "7f2a7d5fae7d",
    "2d6e25af4d3e",
    "acf3f17fdcc7",
    "867495a8f9d4",
    "5b0e9adcef9c",
    "4465047574b1",
    "f5a4f2784254",
    "0584bdc529eb",
    "400f98739977",
    "6953534de441",
    "bda7b8c39065",
    "cbc13b556ace",
    "770bee3ae1dd",
    "a1b2c3d4e5f6",
    "de4033877273",
    "1a0cddfcaa16",
    "534353b11cbc",
    "71994744cf8e",
    "3da73c924c2f",
    "bf29a5ff90ea",
    "1bd49d398cd23",
    "b7c8d9e0f1a2",
    "5d2d30f0abce",
    "c9d4e5f6a7b8",
    "2c33131f4dae",
    "d3e4f5a6b7c8",
    "d0e1f2a3b4c5",
    "c8d9e0f1a2b3",
    "1b5f0d9ad7c1",
    "e1f2a3b4c5d6",
    "76601a5f987d",
    "c3d6457b6d8a",
    "a5b4c3d2e1f0",
    "ae8bbe7743c9",
    "7d34483879f0",
    "da6fb0208061",
    "89d3d66ed43f",
    "b7e4c1a90f23",
    "a8b9c0d1e2f3",
    "c1d2e3f4a5b6",
    "c3d9e7f1a2b4",
    "6f8d9c3b2a1e",
    "1971f2d9a75b",
    "17e22815139b",
    "b7e2c1a4d9f3",
    "75868b020152",
    "dc11669786a5",
]
KNOWN_MLFLOW = "3.17"
RUN_ID_TAG = "mlflow.run_id"
EXPERIMENT_ID_TAG = "mlflow.experiment_id"
_IMPORT_HOST = "mlflow-import"  # not this host: the dead-run reaper leaves imported runs alone

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: called as the import advances."""


@dataclass
class ImportSummary:
    """What an import did; ``skipped`` lists what was not imported, and why."""

    experiments: int = 0
    runs: int = 0
    runs_existing: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    artifacts: int = 0
    model_versions: int = 0
    model_versions_existing: int = 0
    aliases: int = 0
    skipped: list[str] = field(default_factory=list)


# -- the source ---------------------------------------------------------------------------------
class MlflowSqlSource:
    """An MLflow tracking database (``sqlite:///mlflow.db``, ``postgresql://...``), read-only."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
            raise InvalidValueError(
                f"No MLflow database at {url[len('sqlite:///') :]!r}. Expected "
                "--from sqlite:///path/to/mlflow.db (the file mlflow server --backend-store-uri uses)."
            )
        self.engine = sa.create_engine(url)
        self.meta = sa.MetaData()
        self.tables = set(sa.inspect(self.engine).get_table_names())
        if "runs" not in self.tables or "experiments" not in self.tables:
            raise InvalidValueError(
                f"{url} is not an MLflow tracking database: it has no 'runs' and 'experiments' "
                f"tables (found {', '.join(sorted(self.tables)[:10]) or 'none'})."
            )

    def _t(self, name: str) -> sa.Table:
        return sa.Table(name, self.meta, autoload_with=self.engine, extend_existing=True)

    def rows(self, table: str, *where: Any) -> list[dict[str, Any]]:
        if table not in self.tables:
            return []
        t = self._t(table)
        clauses = [c(t) for c in where]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t).where(*clauses))]

    def revision(self) -> str | None:
        rows = self.rows("alembic_version")
        return str(rows[0]["version_num"]) if rows else None

    def close(self) -> None:
        self.engine.dispose()


def check_revision(revision: str | None) -> None:
    """Refuse a store whose schema this importer does not know (newer MLflow)."""
    if revision is None:
        raise SchemaVersionError(
            "The MLflow database has no alembic_version row, so its schema is unknown. Open it "
            "once with 'mlflow db upgrade <url>' (MLflow <= "
            f"{KNOWN_MLFLOW}) and import again."
        )
    if revision not in KNOWN_REVISIONS:
        raise SchemaVersionError(
            f"The MLflow database is at schema revision {revision!r}, which this importer does "
            f"not know: it reads MLflow schemas up to MLflow {KNOWN_MLFLOW} (revision "
            f"{KNOWN_REVISIONS[-1]}). It is probably from a newer MLflow; upgrade Mainsail, or "
            "export from a server of a known version."
        )


def local_path(uri: str) -> Path | None:
    """The local folder of an artifact URI (``/abs/path`` or ``file:///abs/path``)."""
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if uri.startswith("/"):
        return Path(uri)
    return None


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for dirpath, _dirs, names in os.walk(root):
        for n in sorted(names):
            p = Path(dirpath) / n
            yield p.relative_to(root).as_posix(), p


# -- runs -----------------------------------------------------------------------------------------
def _by_run(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[str(r["run_uuid"])].append(r)
    return out


def _import_runs(
    ctx: Context,
    src: MlflowSqlSource,
    exp: dict[str, Any],
    name: str,
    summary: ImportSummary,
    progress: Progress | None,
) -> None:
    store = ctx.store
    exp_id = exp["experiment_id"]
    runs = src.rows("runs", lambda t: t.c.experiment_id == exp_id)
    if not runs:
        return
    existing = {r.id for r in store.search_runs([name], None, (), None)}
    ids = [str(r["run_uuid"]) for r in runs]
    todo = [r for r in runs if str(r["run_uuid"]) not in existing]
    summary.runs_existing += len(runs) - len(todo)
    if not todo:
        return
    params = _by_run(src.rows("params", lambda t: t.c.run_uuid.in_(ids)))
    tags = _by_run(src.rows("tags", lambda t: t.c.run_uuid.in_(ids)))
    metrics = _by_run(src.rows("metrics", lambda t: t.c.run_uuid.in_(ids)))
    models = defaultdict(list)
    for m in src.rows("logged_models", lambda t: t.c.experiment_id == exp_id):
        if m.get("source_run_id"):
            models[str(m["source_run_id"])].append(m)
    for i, r in enumerate(todo):
        _import_run(ctx, r, name, params, tags, metrics, models, summary)
        if progress is not None:
            progress(f"runs of {name}", i + 1, len(todo))


def _import_run(
    ctx: Context,
    r: dict[str, Any],
    experiment: str,
    params: dict[str, list[dict[str, Any]]],
    tags: dict[str, list[dict[str, Any]]],
    metrics: dict[str, list[dict[str, Any]]],
    models: dict[str, list[dict[str, Any]]],
    summary: ImportSummary,
) -> None:
    store = ctx.store
    run_id = str(r["run_uuid"])
    run_params = {p["key"]: p["value"] for p in params.get(run_id, [])}
    run_tags = {t["key"]: t["value"] for t in tags.get(run_id, [])}
    run_tags.pop("mlflow.runName", None)
    run_tags[RUN_ID_TAG] = run_id
    run_tags[EXPERIMENT_ID_TAG] = str(r["experiment_id"])
    if r.get("lifecycle_stage") == "deleted":
        run_tags[LIFECYCLE_TAG] = "deleted"
    for m in models.get(run_id, []):
        run_tags[LOGGED_MODEL_TAG_PREFIX + m["model_id"]] = json.dumps(
            _model_record(m), sort_keys=True
        )
    points = []
    for m in metrics.get(run_id, []):
        value = math.nan if m["value"] is None else float(m["value"])  # SQLite: NaN is NULL
        if m.get("is_nan") or not math.isfinite(value):
            summary.skipped.append(
                f"run {run_id}: metric {m['key']!r} step {m['step']} is not finite"
            )
            continue
        points.append((str(m["key"]), value, int(m["step"] or 0), int(m["timestamp"] or 0)))
    fields: dict[str, Any] = {
        "host": _IMPORT_HOST,
        "start_time": int(r["start_time"] or 0) or None,
        "heartbeats": False,  # nothing here runs it: a run still RUNNING in MLflow stays so
    }
    if r.get("user_id"):
        fields["user"] = str(r["user_id"])[:256]
    source = run_tags.get("mlflow.source.name") or r.get("source_name")
    if source:
        fields["source"] = str(source)[:1024]
    if run_tags.get("mlflow.source.git.commit") or r.get("source_version"):
        fields["git_commit"] = str(run_tags.get("mlflow.source.git.commit") or r["source_version"])[
            :64
        ]
    name = str(r.get("name") or run_tags.get("mlflow.runName") or f"run-{run_id[:8]}")
    store.create_run(
        run_id,
        experiment,
        name,
        run_params,
        run_tags,
        None,
        **{k: v for k, v in fields.items() if v is not None},
    )
    summary.runs += 1
    summary.params += len(run_params)
    summary.tags += len(run_tags)
    folders = [("", local_path(str(r.get("artifact_uri") or "")))]
    for m in models.get(run_id, []):
        folders.append(
            (
                f"{LOGGED_MODEL_DIR}/{m['model_id']}/",
                local_path(str(m.get("artifact_location") or "")),
            )
        )
    for prefix, folder in folders:
        if folder is None:
            summary.skipped.append(f"run {run_id}: artifacts at a non-local URI are not copied")
            continue
        for rel, path in _files(folder):
            digest, size = ctx.artifacts.put_file(path)
            store.add_artifact(run_id, prefix + rel, digest, size, "file")
            summary.artifacts += 1
    status = RUN_STATUSES.get(str(r.get("status")))
    if status is not None:
        store.end_run(run_id, status, points, int(r["end_time"]) if r.get("end_time") else None)
    elif points:
        store.log_metrics(run_id, points)
    summary.metric_points += len(points)


def _model_record(m: dict[str, Any]) -> dict[str, Any]:
    status = {1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED"}
    raw = m.get("status")
    return {
        "name": m.get("name") or "model",
        "model_type": m.get("model_type"),
        "status": status.get(raw, raw)
        if isinstance(raw, int)
        else str(raw or "LOGGED_MODEL_READY"),
        "creation_timestamp_ms": int(m.get("creation_timestamp_ms") or 0),
        "last_updated_timestamp_ms": int(m.get("last_updated_timestamp_ms") or 0),
        "tags": {},
        "params": {},
    }


# -- the import -----------------------------------------------------------------------------------
def import_mlflow(
    ctx: Context,
    source: str,
    experiments: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Copy an MLflow store into Mainsail; re-running imports only what is new.

    Parameters
    ----------
    source : str
        The MLflow tracking database URL (``sqlite:///mlflow.db``), or a running MLflow
        server (``http://host:5000``, read through its REST API).
    experiments, models : list of str, optional
        Only these experiments / registered models (by name); all by default.

    Examples
    --------
    >>> import_mlflow(ctx, "sqlite:///mlflow.db", experiments=["churn"])  # doctest: +SKIP
    ImportSummary(experiments=1, runs=120, ...)
    """
    from mainsail.registry._mlflow import import_registered_models

    if source.startswith(("http://", "https://")):
        import tempfile

        from mainsail.tracking._mlflow_rest_source import snapshot

        with tempfile.TemporaryDirectory(prefix="mainsail-mlflow-import-") as tmp:
            url = snapshot(source, Path(tmp))
            return import_mlflow(ctx, url, experiments, models, progress)
    src = MlflowSqlSource(source)
    try:
        check_revision(src.revision())
        summary = ImportSummary()
        exps = [e for e in src.rows("experiments") if e.get("lifecycle_stage") != "deleted"]
        if experiments:
            wanted = set(experiments)
            missing = wanted - {e["name"] for e in exps}
            if missing:
                raise InvalidValueError(
                    f"No MLflow experiment named {', '.join(sorted(missing))}. The store has: "
                    + ", ".join(sorted(e["name"] for e in exps))
                )
            exps = [e for e in exps if e["name"] in wanted]
        for e in exps:
            ctx.store.get_or_create_experiment(e["name"])
            summary.experiments += 1
            _import_runs(ctx, src, e, e["name"], summary, progress)
        if experiments is None or models is not None:
            import_registered_models(ctx, src, models, summary, progress)
        return summary
    finally:
        src.close()
