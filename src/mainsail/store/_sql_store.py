"""The SQL store: metadata in SQLite or PostgreSQL through SQLAlchemy Core."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import (
    DatasetNotFoundError,
    ExperimentNotFoundError,
    InvalidMetricError,
    InvalidValueError,
    NotFoundError,
    ParamConflictError,
    RunClosedError,
    RunNotFoundError,
)
from mainsail.core._ids import hostname, now_ms
from mainsail.core._schemas import (
    RUN_STATUSES,
    ArtifactRecord,
    Dataset,
    DatasetVersion,
    Experiment,
    MetricPoint,
    Run,
    RunInput,
)
from mainsail.store import _fastsql as fastsql
from mainsail.store import _tables as t
from mainsail.store._db import Database
from mainsail.store._leader import LeaderStoreMixin
from mainsail.store._sql_automation import AutomationStoreMixin
from mainsail.store._sql_blobs import BlobScopeMixin
from mainsail.store._sql_checks import CheckStoreMixin
from mainsail.store._sql_explore import ExploreStoreMixin
from mainsail.store._sql_filter import compile_filter, order_column
from mainsail.store._sql_jobs import JobStoreMixin
from mainsail.store._sql_maintenance import MaintenanceMixin
from mainsail.store._sql_monitoring import MonitorStoreMixin
from mainsail.store._sql_pipelines import PipelineStoreMixin
from mainsail.store._sql_registry import RegistryStoreMixin
from mainsail.store._sql_rollout import RolloutStoreMixin
from mainsail.store._sql_security import SecurityStoreMixin
from mainsail.store._upsert import insert_ignore, upsert
from mainsail.store.protocols.tracking import MetricRow

_RUN_FIELDS = ("user", "source", "git_commit", "git_dirty", "seed")
# A running run's process heartbeats every ``run_heartbeat_interval`` (<= 60 s): one silent
# this long, on another host (where its pid cannot be checked), has stopped.
RUN_STALE_MS = 300_000
_MAX_KEY = 250
_MAX_VALUE = 6000


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise InvalidValueError(
            f"{what} names must be non-empty strings of at most {_MAX_KEY} characters. Got {key!r}."
        )
    return key


class SqlStore(
    RegistryStoreMixin,
    AutomationStoreMixin,
    CheckStoreMixin,
    SecurityStoreMixin,
    PipelineStoreMixin,
    JobStoreMixin,
    RolloutStoreMixin,
    MonitorStoreMixin,
    LeaderStoreMixin,
    BlobScopeMixin,
    MaintenanceMixin,
    ExploreStoreMixin,
):
    """Metadata store on SQLAlchemy; the embedded default and the server's backend.

    Examples
    --------
    >>> store = SqlStore(Database("sqlite:////tmp/ms-doc/mainsail.db"))  # doctest: +SKIP
    >>> store.get_or_create_experiment("churn")  # doctest: +SKIP
    1
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._experiment_ids: dict[str, int] = {}
        self._known_envs: set[str] = set()

    def close(self) -> None:
        """Release the engine's connections."""
        self.db.dispose()

    # -- experiments -----------------------------------------------------------------------
    def get_or_create_experiment(self, name: str, conn: Connection | None = None) -> int:
        if name in self._experiment_ids:
            return self._experiment_ids[name]
        if conn is None:
            with self.db.write() as c:
                return self.get_or_create_experiment(name, c)
        insert_ignore(conn, t.experiments, [{"name": name, "created_at": now_ms()}], keys=["name"])
        exp_id = conn.execute(
            sa.select(t.experiments.c.id).where(t.experiments.c.name == name)
        ).scalar_one()
        self._experiment_ids[name] = exp_id
        return int(exp_id)

    def list_experiments(self) -> list[Experiment]:
        counts = (
            sa.select(t.runs.c.experiment_id, sa.func.count().label("n"))
            .group_by(t.runs.c.experiment_id)
            .subquery()
        )
        q = (
            sa.select(t.experiments, sa.func.coalesce(counts.c.n, 0).label("run_count"))
            .outerjoin(counts, counts.c.experiment_id == t.experiments.c.id)
            .order_by(t.experiments.c.id)
        )
        with self.db.read() as conn:
            return [Experiment(**r._mapping) for r in conn.execute(q)]

    def _experiment_id(self, conn: Connection, name: str) -> int:
        exp_id = conn.execute(
            sa.select(t.experiments.c.id).where(t.experiments.c.name == name)
        ).scalar()
        if exp_id is None:
            known = conn.execute(sa.select(t.experiments.c.name)).scalars().all()
            raise ExperimentNotFoundError(
                f"No experiment named {name!r}. Known experiments: "
                + (", ".join(sorted(known)) or "none yet")
                + ". Start a run with mainsail.start_run(experiment=...) to create one."
            )
        return int(exp_id)

    # -- runs ------------------------------------------------------------------------------
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
        """Insert a running run with its initial params and tags in one transaction.

        ``heartbeats=False`` (a run written by a client that sends none, such as MLflow's)
        leaves it to its client to end: the reaper never marks it failed for silence.
        """
        fields = dict(fields)
        heartbeats = fields.pop("heartbeats", True)
        param_rows = _param_rows(run_id, params or {})
        tag_rows = _tag_rows(run_id, tags or {})
        with self.db.write() as conn:
            exp_id = self.get_or_create_experiment(experiment, conn)
            env_digest = None
            if environment is not None:
                env_digest, env_data = environment
                if env_digest not in self._known_envs:
                    insert_ignore(
                        conn, t.environments, [{"digest": env_digest, "data": env_data}], ["digest"]
                    )
                    self._known_envs.add(env_digest)
            row = dict.fromkeys(_RUN_FIELDS)
            row.update(fields)
            row.update(
                id=run_id,
                experiment_id=exp_id,
                name=name,
                status="running",
                start_time=fields.get("start_time") or now_ms(),
                host=fields.get("host") or hostname(),
                pid=fields.get("pid") or os.getpid(),
                env_digest=env_digest,
            )
            row["heartbeat_at"] = row["start_time"] if heartbeats else None
            fastsql.execute(conn, "insert_run", row)
            if param_rows:
                fastsql.execute(conn, "insert_param", param_rows)
            if tag_rows:
                fastsql.execute(conn, "insert_tag", tag_rows)

    def _run_row(self, conn: Connection, run_id: str) -> Any:
        row = conn.execute(
            sa.select(t.runs, t.experiments.c.name.label("experiment"))
            .join(t.experiments, t.experiments.c.id == t.runs.c.experiment_id)
            .where(t.runs.c.id == run_id)
        ).first()
        if row is None:
            raise RunNotFoundError(
                f"No run with id {run_id!r}. Expected a 32-character run id as shown by "
                "'mainsail runs list'."
            )
        return row

    def get_run(self, run_id: str) -> Run:
        self.reap_dead_runs()
        with self.db.read() as conn:
            row = self._run_row(conn, run_id)
            return self._hydrate(conn, [row])[0]

    def run_status(self, run_id: str) -> str:
        with self.db.read() as conn:
            return str(self._run_row(conn, run_id).status)

    def end_run(
        self,
        run_id: str,
        status: str,
        metrics: Sequence[MetricRow] = (),
        end_time: int | None = None,
    ) -> None:
        """Flush the last metrics and close the run, in one transaction.

        ``end_time`` (ms) defaults to now; an importer gives the original one.
        """
        if status not in RUN_STATUSES or status == "running":
            raise InvalidValueError(
                f"A run ends as one of: finished, failed, killed. Got {status!r}."
            )
        with self.db.write() as conn:
            updated = fastsql.execute(
                conn, "end_run", {"status": status, "end_time": end_time or now_ms(), "id": run_id}
            ).rowcount
            if updated != 1:
                self._ensure_open(conn, run_id)  # raises: unknown or already closed
            self._log_metrics(conn, run_id, metrics, check_open=False)

    def set_run_fields(self, run_id: str, **fields: Any) -> None:
        with self.db.write() as conn:
            self._ensure_open(conn, run_id)
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**fields))

    def _ensure_open(self, conn: Connection, run_id: str) -> None:
        row = fastsql.execute(conn, "run_status", {"id": run_id}).first()
        if row is None:
            self._run_row(conn, run_id)  # raises the not-found error
        elif row[0] != "running":
            raise RunClosedError(
                f"Run {run_id} is {row[0]}; expected a running run. Logging to a closed "
                "run is refused so finished results stay as they were. Start a new run instead."
            )

    def heartbeat_run(self, run_id: str) -> bool:
        """The run's process is alive: record it; ``False`` once the run is no longer running."""
        with self.db.write() as conn:
            done = conn.execute(
                t.runs.update()
                .where(t.runs.c.id == run_id, t.runs.c.status == "running")
                .values(heartbeat_at=now_ms())
            )
            return bool(done.rowcount)

    def reap_dead_runs(
        self, stale_after_ms: int = RUN_STALE_MS, experiments: Sequence[str] | None = None
    ) -> int:
        """Mark runs 'failed' whose process died without ending them: on this host, a process
        that no longer exists; on any other host, no heartbeat for ``stale_after_ms``. Only
        runs of ``experiments``, when given (a caller reaping in its own projects)."""
        host = hostname()
        cutoff = now_ms() - stale_after_ms
        query = sa.select(t.runs.c.id, t.runs.c.pid, t.runs.c.host, t.runs.c.heartbeat_at).where(
            t.runs.c.status == "running",
            sa.or_(t.runs.c.host == host, t.runs.c.heartbeat_at < cutoff),
        )
        if experiments is not None:
            if not experiments:
                return 0
            query = query.where(
                t.runs.c.experiment_id.in_(
                    sa.select(t.experiments.c.id).where(t.experiments.c.name.in_(experiments))
                )
            )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        dead = [
            r.id
            for r in rows
            if (r.host == host and r.pid is not None and not _pid_alive(r.pid))
            # a process here that is alive is alive, whatever its heartbeat says
            or (r.host != host and r.heartbeat_at is not None and r.heartbeat_at < cutoff)
        ]
        if dead:
            with self.db.write() as conn:
                conn.execute(
                    t.runs.update()
                    .where(t.runs.c.id.in_(dead), t.runs.c.status == "running")
                    .values(status="failed", end_time=now_ms())
                )
        return len(dead)

    # -- params, tags, metrics -------------------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        rows = _param_rows(run_id, params)
        if not rows:
            return
        with self.db.write() as conn:
            self._ensure_open(conn, run_id)
            existing = dict(
                conn.execute(
                    sa.select(t.params.c.key, t.params.c.value).where(
                        t.params.c.run_id == run_id, t.params.c.key.in_([r["key"] for r in rows])
                    )
                ).all()
            )
            for r in rows:
                old = existing.get(r["key"])
                if old is not None and old != r["value"]:
                    raise ParamConflictError(
                        f"Param {r['key']!r} of run {run_id} is already {old!r}; got {r['value']!r}. "
                        "Params are write-once so a run always describes how it was made. "
                        "Log the new value under another name, or start a new run."
                    )
            new = [r for r in rows if r["key"] not in existing]
            if new:
                conn.execute(t.params.insert(), new)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        rows = _tag_rows(run_id, tags)
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            upsert(conn, t.tags, rows, keys=["run_id", "key"], update=["value"])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove tag ``key`` from a run; a missing tag is an error naming the run's tags."""
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            deleted = conn.execute(
                t.tags.delete().where(t.tags.c.run_id == run_id, t.tags.c.key == key)
            ).rowcount
            if deleted != 1:
                known = conn.execute(
                    sa.select(t.tags.c.key).where(t.tags.c.run_id == run_id)
                ).scalars()
                raise NotFoundError(
                    f"Run {run_id} has no tag {key!r}; its tags are: "
                    + (", ".join(sorted(known)) or "none")
                    + ". Check the key's spelling."
                )

    def log_metrics(self, run_id: str, points: Sequence[MetricRow]) -> None:
        with self.db.write() as conn:
            self._log_metrics(conn, run_id, points, check_open=True)

    def _log_metrics(
        self, conn: Connection, run_id: str, points: Sequence[MetricRow], check_open: bool
    ) -> None:
        if not points:
            return
        if check_open:
            self._ensure_open(conn, run_id)
        fastsql.execute(
            conn,
            "insert_metric",
            [
                {"run_id": run_id, "key": k, "value": v, "step": s, "ts": ts}
                for k, v, s, ts in points
            ],
        )
        latest: dict[str, MetricRow] = {}
        for p in points:
            cur = latest.get(p[0])
            if cur is None or (p[2], p[3]) >= (cur[2], cur[3]):
                latest[p[0]] = p
        fastsql.execute(
            conn,
            "upsert_latest",
            [
                {"run_id": run_id, "key": k, "value": v, "step": s, "ts": ts}
                for k, v, s, ts in latest.values()
            ],
        )

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        with self.db.read() as conn:
            self._run_row(conn, run_id)
            rows = conn.execute(
                sa.select(t.metrics.c.key, t.metrics.c.value, t.metrics.c.step, t.metrics.c.ts)
                .where(t.metrics.c.run_id == run_id, t.metrics.c.key == key)
                .order_by(t.metrics.c.step, t.metrics.c.ts, t.metrics.c.id)
            ).all()
        return [MetricPoint(key=r.key, value=r.value, step=r.step, ts=r.ts) for r in rows]

    # -- artifacts and inputs --------------------------------------------------------------
    def add_artifact(self, run_id: str, path: str, digest: str, size: int, kind: str) -> None:
        with self.db.write() as conn:
            self._ensure_open(conn, run_id)
            upsert(
                conn,
                t.run_artifacts,
                [
                    {
                        "run_id": run_id,
                        "path": path,
                        "digest": digest,
                        "size": size,
                        "kind": kind,
                        "created_at": now_ms(),
                    }
                ],
                keys=["run_id", "path"],
                update=["digest", "size", "kind", "created_at"],
            )

    def add_run_input(self, run_id: str, dataset_version_id: int, context: str | None) -> None:
        with self.db.write() as conn:
            self._run_row(conn, run_id)
            insert_ignore(
                conn,
                t.run_inputs,
                [{"run_id": run_id, "dataset_version_id": dataset_version_id, "context": context}],
                keys=["run_id", "dataset_version_id"],
            )

    def get_environment(self, digest: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            data = conn.execute(
                sa.select(t.environments.c.data).where(t.environments.c.digest == digest)
            ).scalar()
        return dict(data) if data is not None else None

    # -- search ----------------------------------------------------------------------------
    def search_runs(
        self,
        experiments: Sequence[str] | None = None,
        filter_expr: Any = None,
        order_by: Sequence[Any] = (),
        max_results: int | None = 1000,
    ) -> list[Run]:
        """Runs matching a parsed filter, newest first unless ``order_by`` says otherwise."""
        self.reap_dead_runs()
        q = sa.select(t.runs, t.experiments.c.name.label("experiment")).join(
            t.experiments, t.experiments.c.id == t.runs.c.experiment_id
        )
        with self.db.read() as conn:
            if experiments:
                ids = [self._experiment_id(conn, e) for e in experiments]
                q = q.where(t.runs.c.experiment_id.in_(ids))
            if filter_expr is not None:
                q = q.where(compile_filter(filter_expr))
            orders = []
            for key in order_by:
                col, alias = order_column(key.entity, key.key)
                if alias is not None:
                    q = q.outerjoin(
                        alias, sa.and_(alias.c.run_id == t.runs.c.id, alias.c.key == key.key)
                    )
                orders.append(col.desc().nulls_last() if key.descending else col.asc().nulls_last())
            orders += [t.runs.c.start_time.desc(), t.runs.c.id]
            q = q.order_by(*orders)
            if max_results is not None:
                q = q.limit(int(max_results))
            rows = conn.execute(q).all()
            return self._hydrate(conn, rows)

    def _hydrate(self, conn: Connection, rows: Sequence[Any]) -> list[Run]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        params: dict[str, dict[str, str]] = defaultdict(dict)
        metrics: dict[str, dict[str, float]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        artifacts: dict[str, list[ArtifactRecord]] = defaultdict(list)
        inputs: dict[str, list[RunInput]] = defaultdict(list)
        for chunk in _chunks(ids, 900):
            for r in conn.execute(
                sa.select(t.params.c.run_id, t.params.c.key, t.params.c.value).where(
                    t.params.c.run_id.in_(chunk)
                )
            ):
                params[r.run_id][r.key] = r.value
            for r in conn.execute(
                sa.select(
                    t.latest_metrics.c.run_id, t.latest_metrics.c.key, t.latest_metrics.c.value
                ).where(t.latest_metrics.c.run_id.in_(chunk))
            ):
                metrics[r.run_id][r.key] = r.value
            for r in conn.execute(
                sa.select(t.tags.c.run_id, t.tags.c.key, t.tags.c.value).where(
                    t.tags.c.run_id.in_(chunk)
                )
            ):
                tags[r.run_id][r.key] = r.value
            for art in conn.execute(
                sa.select(t.run_artifacts).where(t.run_artifacts.c.run_id.in_(chunk))
            ):
                m = dict(art._mapping)
                artifacts[m.pop("run_id")].append(ArtifactRecord(**m))
            for inp in conn.execute(
                sa.select(
                    t.run_inputs.c.run_id,
                    t.run_inputs.c.context,
                    t.datasets.c.name,
                    t.dataset_versions.c.version,
                    t.dataset_versions.c.digest,
                )
                .join(
                    t.dataset_versions, t.dataset_versions.c.id == t.run_inputs.c.dataset_version_id
                )
                .join(t.datasets, t.datasets.c.id == t.dataset_versions.c.dataset_id)
                .where(t.run_inputs.c.run_id.in_(chunk))
            ):
                inputs[inp.run_id].append(
                    RunInput(
                        dataset=inp.name,
                        version=inp.version,
                        digest=inp.digest,
                        context=inp.context,
                    )
                )
        out = []
        for r in rows:
            m = dict(r._mapping)
            m.pop("experiment_id", None)
            out.append(
                Run(
                    **m,
                    params=params.get(r.id, {}),
                    metrics=metrics.get(r.id, {}),
                    tags=tags.get(r.id, {}),
                    artifacts=sorted(artifacts.get(r.id, []), key=lambda a: a.path),
                    inputs=inputs.get(r.id, []),
                )
            )
        return out

    # -- datasets --------------------------------------------------------------------------
    def create_dataset_version(self, name: str, **fields: Any) -> tuple[DatasetVersion, bool]:
        """Insert a dataset version, or return the existing one with the same digest.

        Returns (version, created).
        """
        for attempt in range(5):
            try:
                with self.db.write() as conn:
                    insert_ignore(
                        conn, t.datasets, [{"name": name, "created_at": now_ms()}], ["name"]
                    )
                    ds_id = conn.execute(
                        sa.select(t.datasets.c.id).where(t.datasets.c.name == name)
                    ).scalar_one()
                    existing = conn.execute(
                        sa.select(t.dataset_versions.c.id).where(
                            t.dataset_versions.c.dataset_id == ds_id,
                            t.dataset_versions.c.digest == fields["digest"],
                        )
                    ).scalar()
                    if existing is not None:
                        return self._dataset_version(conn, name, version_id=existing), False
                    version = (
                        conn.execute(
                            sa.select(sa.func.max(t.dataset_versions.c.version)).where(
                                t.dataset_versions.c.dataset_id == ds_id
                            )
                        ).scalar()
                        or 0
                    ) + 1
                    new_id = conn.execute(
                        t.dataset_versions.insert().returning(t.dataset_versions.c.id),
                        {"dataset_id": ds_id, "version": version, "created_at": now_ms(), **fields},
                    ).scalar_one()
                    return self._dataset_version(conn, name, version_id=new_id), True
            except sa.exc.IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _dataset_version(
        self,
        conn: Connection,
        name: str,
        version: int | None = None,
        version_id: int | None = None,
    ) -> DatasetVersion:
        dv, ds = t.dataset_versions, t.datasets
        q = sa.select(dv, ds.c.name).join(ds, ds.c.id == dv.c.dataset_id).where(ds.c.name == name)
        if version_id is not None:
            q = q.where(dv.c.id == version_id)
        elif version is not None:
            q = q.where(dv.c.version == version)
        else:
            q = q.order_by(dv.c.version.desc()).limit(1)
        row = conn.execute(q).first()
        if row is None:
            versions = (
                conn.execute(
                    sa.select(dv.c.version)
                    .join(ds, ds.c.id == dv.c.dataset_id)
                    .where(ds.c.name == name)
                    .order_by(dv.c.version)
                )
                .scalars()
                .all()
            )
            if not versions:
                known = conn.execute(sa.select(ds.c.name)).scalars().all()
                raise DatasetNotFoundError(
                    f"No dataset named {name!r}. Known datasets: "
                    + (", ".join(sorted(known)) or "none yet")
                    + ". Create one with mainsail.log_dataset(df, name=...)."
                )
            raise DatasetNotFoundError(
                f"Dataset {name!r} has no version {version}. Its versions are: "
                + ", ".join(map(str, versions))
                + "."
            )
        m = dict(row._mapping)
        m.pop("dataset_id")
        return DatasetVersion(**m)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        with self.db.read() as conn:
            return self._dataset_version(conn, name, version=version)

    def list_datasets(self) -> list[Dataset]:
        dv, ds = t.dataset_versions, t.datasets
        q = (
            sa.select(
                ds.c.name,
                sa.func.count(dv.c.id).label("versions"),
                sa.func.max(dv.c.version).label("latest"),
                ds.c.created_at,
            )
            .outerjoin(dv, dv.c.dataset_id == ds.c.id)
            .group_by(ds.c.id, ds.c.name, ds.c.created_at)
            .order_by(ds.c.name)
        )
        with self.db.read() as conn:
            return [Dataset(**r._mapping) for r in conn.execute(q)]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        dv, ds = t.dataset_versions, t.datasets
        with self.db.read() as conn:
            self._dataset_version(conn, name)  # raises a clear error when unknown
            rows = conn.execute(
                sa.select(dv, ds.c.name)
                .join(ds, ds.c.id == dv.c.dataset_id)
                .where(ds.c.name == name)
                .order_by(dv.c.version)
            ).all()
        out = []
        for r in rows:
            m = dict(r._mapping)
            m.pop("dataset_id")
            out.append(DatasetVersion(**m))
        return out

    # -- garbage collection ----------------------------------------------------------------
    def referenced_digests(self) -> tuple[set[str], set[str]]:
        """(blob digests referenced directly, digests that are folder manifests): run
        artifacts (pipeline step outputs among them), dataset tables, model folders, the
        reports of release checks and monitor runs, and the values pipeline runs, step runs
        and the step cache name."""
        with self.db.read() as conn:
            files = set(
                conn.execute(
                    sa.select(t.run_artifacts.c.digest).where(t.run_artifacts.c.kind == "file")
                ).scalars()
            )
            dirs = set(
                conn.execute(
                    sa.select(t.run_artifacts.c.digest).where(t.run_artifacts.c.kind == "dir")
                ).scalars()
            )
            files |= set(conn.execute(sa.select(t.dataset_versions.c.blob_digest)).scalars())
            dirs |= set(conn.execute(sa.select(t.model_versions.c.manifest_digest)).scalars())
            reports = [
                t.check_results.c.report_digest,
                t.check_results.c.html_digest,
                t.monitor_results.c.report_digest,
            ]
            for col in reports:
                files |= set(conn.execute(sa.select(col).where(col.is_not(None))).scalars())
            # pipeline values: a step's literal inputs are recorded nowhere else, and a run's
            # outputs and cache entries must not lose their blobs with a deleted run
            values = [
                t.pipeline_runs.c.outputs,
                t.step_runs.c.inputs,
                t.step_runs.c.outputs,
                t.step_cache.c.outputs,
            ]
            for col in values:
                for doc in conn.execute(sa.select(col).where(col.is_not(None))).scalars():
                    files |= _value_digests(doc)
        return files, dirs


def _value_digests(doc: Any) -> set[str]:
    """The ``digest`` of every stored value in a pipeline JSON document (metas or mappings)."""
    found: set[str] = set()
    if isinstance(doc, dict):
        digest = doc.get("digest")
        if isinstance(digest, str):
            found.add(digest)
        for v in doc.values():
            if isinstance(v, (dict, list)):
                found |= _value_digests(v)
    elif isinstance(doc, list):
        for v in doc:
            found |= _value_digests(v)
    return found


def _param_rows(run_id: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, v in params.items():
        _check_key(k, "Param")
        s = _stringify(v)
        if len(s) > _MAX_VALUE:
            raise InvalidValueError(
                f"Param {k!r} is {len(s)} characters long; the limit is {_MAX_VALUE}. "
                "Log long values as an artifact (run.log_text or run.log_dict) instead."
            )
        rows.append({"run_id": run_id, "key": k, "value": s})
    return rows


def _tag_rows(run_id: str, tags: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "key": _check_key(k, "Tag"), "value": _stringify(v)}
        for k, v in tags.items()
    ]


def _stringify(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer() and not math.isinf(v):
        return repr(v)
    return str(v)


def check_metric(key: Any, value: Any) -> float:
    """Validate a metric point; returns the value as a float."""
    _check_key(key, "Metric")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidMetricError(
            f"Metric {key!r} must be a number. Got {value!r} ({type(value).__name__})."
        ) from None
    if not math.isfinite(f):
        raise InvalidMetricError(
            f"Metric {key!r} must be a finite number. Got {f}. NaN and infinities are refused "
            "because they break comparisons and searches; log a sentinel metric (e.g. "
            f"'{key}_failed' = 1) or skip the point."
        )
    return f


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _chunks(items: Sequence[str], n: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
