"""The store contract: every Store implementation passes these (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
import uuid

import pytest

from mainsail.core import (
    DatasetNotFoundError,
    ExperimentNotFoundError,
    InvalidValueError,
    NotFoundError,
    ParamConflictError,
    RunClosedError,
    RunNotFoundError,
)
from mainsail.store import SqlStore
from mainsail.tracking._filter import parse_filter, parse_order_by

# The ``store`` fixture (tests/store/conftest.py) runs every test over the SQL stores
# (SQLite, PostgreSQL) and the REST store (in process and against a real server).


def _run(store: SqlStore, experiment: str = "exp", **kw) -> str:  # type: ignore[no-untyped-def]
    rid = uuid.uuid4().hex
    store.create_run(rid, experiment, kw.pop("name", f"r-{rid[:4]}"), **kw)
    return rid


def test_run_round_trip(store: SqlStore) -> None:
    rid = _run(store, params={"depth": 3, "lr": 0.1}, tags={"team": "ml"})
    run = store.get_run(rid)
    assert run.status == "running"
    assert run.experiment == "exp"
    assert run.params == {"depth": "3", "lr": "0.1"}
    assert run.tags == {"team": "ml"}
    store.end_run(rid, "finished", [("auc", 0.9, 0, 1)])
    run = store.get_run(rid)
    assert run.status == "finished"
    assert run.end_time is not None and run.end_time >= run.start_time
    assert run.metrics == {"auc": 0.9}


def test_unknown_run_is_a_clear_error(store: SqlStore) -> None:
    with pytest.raises(RunNotFoundError, match="No run with id 'nope'"):
        store.get_run("nope")


def test_params_are_write_once(store: SqlStore) -> None:
    rid = _run(store, params={"depth": 3})
    store.log_params(rid, {"depth": 3, "other": "x"})  # same value: fine
    with pytest.raises(ParamConflictError, match="already '3'; got '4'"):
        store.log_params(rid, {"depth": 4})
    assert store.get_run(rid).params == {"depth": "3", "other": "x"}


def test_tags_are_mutable(store: SqlStore) -> None:
    rid = _run(store, tags={"stage": "dev"})
    store.set_tags(rid, {"stage": "prod", "owner": "ana"})
    assert store.get_run(rid).tags == {"stage": "prod", "owner": "ana"}
    store.delete_tag(rid, "owner")
    assert store.get_run(rid).tags == {"stage": "prod"}
    with pytest.raises(NotFoundError, match="has no tag 'owner'; its tags are: stage"):
        store.delete_tag(rid, "owner")


def test_metric_series_and_latest_value(store: SqlStore) -> None:
    rid = _run(store)
    store.log_metrics(rid, [("loss", 3.0, 0, 10), ("loss", 1.0, 2, 12), ("acc", 0.5, 0, 10)])
    store.log_metrics(rid, [("loss", 2.0, 1, 20)])  # an older step arriving late
    hist = store.metric_history(rid, "loss")
    assert [(p.step, p.value) for p in hist] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert store.get_run(rid).metrics == {"loss": 1.0, "acc": 0.5}


def test_closed_run_refuses_writes(store: SqlStore) -> None:
    rid = _run(store)
    store.end_run(rid, "finished")
    with pytest.raises(RunClosedError, match="is finished"):
        store.log_metrics(rid, [("x", 1.0, 0, 1)])
    with pytest.raises(RunClosedError):
        store.log_params(rid, {"a": 1})
    with pytest.raises(InvalidValueError, match="finished, failed, killed"):
        store.end_run(rid, "exploded")
    other = _run(store)
    store.end_run(other, "killed", end_time=1_700_000_000_123)  # an importer keeps the time
    assert store.get_run(other).end_time == 1_700_000_000_123


def test_search_filters_and_orders(store: SqlStore) -> None:
    ids = []
    for i in range(6):
        rid = _run(store, params={"depth": str(i % 3)}, tags={"i": str(i)})
        store.log_metrics(rid, [("auc", 0.5 + i / 10, 0, 1)])
        if i % 2 == 0:
            store.end_run(rid, "finished")
        ids.append(rid)
    found = store.search_runs(["exp"], parse_filter("metrics.auc > 0.75 and params.depth = '1'"))
    assert [r.id for r in found] == [ids[4]]
    found = store.search_runs(
        ["exp"],
        parse_filter("status = 'finished' or tags.i = '1'"),
        parse_order_by(["metrics.auc DESC"]),
    )
    assert [r.id for r in found] == [ids[4], ids[2], ids[1], ids[0]]
    found = store.search_runs(["exp"], parse_filter("params.depth IN ('0', '2')"), max_results=2)
    assert len(found) == 2
    assert store.search_runs(["exp"], parse_filter("metrics.missing > 0")) == []
    assert len(store.search_runs(["exp"], parse_filter("metrics.missing IS NULL"))) == 6
    with pytest.raises(ExperimentNotFoundError, match="Known experiments: exp"):
        store.search_runs(["nope"])


def test_experiments_listing_counts_runs(store: SqlStore) -> None:
    _run(store, "a")
    _run(store, "a")
    _run(store, "b")
    exps = {e.name: e.run_count for e in store.list_experiments()}
    assert exps == {"a": 2, "b": 1}


def test_artifacts_and_inputs(store: SqlStore) -> None:
    rid = _run(store)
    store.add_artifact(rid, "model.skops", "a" * 64, 10, "file")
    dv, created = store.create_dataset_version(
        "tx",
        digest="d1",
        blob_digest="b" * 64,
        format="parquet",
        row_count=3,
        schema={},
        profile={},
        parents=[],
    )
    assert created
    store.add_run_input(rid, dv.id, "training")
    run = store.get_run(rid)
    assert [a.path for a in run.artifacts] == ["model.skops"]
    assert [i.address for i in run.inputs] == ["datasets:/tx/1"]
    found = store.search_runs(["exp"], parse_filter("datasets.name = 'tx'"))
    assert [r.id for r in found] == [rid]


def test_dataset_versions_are_content_addressed(store: SqlStore) -> None:
    common = dict(format="parquet", row_count=1, schema={}, profile={}, parents=[])
    v1, c1 = store.create_dataset_version("tx", digest="d1", blob_digest="1" * 64, **common)
    v2, c2 = store.create_dataset_version("tx", digest="d2", blob_digest="2" * 64, **common)
    again, c3 = store.create_dataset_version("tx", digest="d1", blob_digest="1" * 64, **common)
    assert (v1.version, v2.version, again.version) == (1, 2, 1)
    assert (c1, c2, c3) == (True, True, False)
    assert store.get_dataset_version("tx").version == 2
    assert store.get_dataset_version("tx", 1).digest == "d1"
    assert [v.version for v in store.list_dataset_versions("tx")] == [1, 2]
    assert store.list_datasets()[0].latest == 2
    with pytest.raises(DatasetNotFoundError, match="versions are: 1, 2"):
        store.get_dataset_version("tx", 9)
    with pytest.raises(DatasetNotFoundError, match="Known datasets: tx"):
        store.get_dataset_version("nope")


def test_environment_is_stored_once(store: SqlStore) -> None:
    env = ("e" * 64, {"python": "3.11"})
    a = _run(store, environment=env)
    b = _run(store, environment=env)
    assert store.get_run(a).env_digest == store.get_run(b).env_digest == "e" * 64
    assert store.get_environment("e" * 64) == {"python": "3.11"}


def test_dead_process_runs_are_reaped(store: SqlStore) -> None:
    rid = _run(store, pid=2**22 + 12345)  # no such process
    assert store.reap_dead_runs() == 1
    assert store.get_run(rid).status == "failed"


def test_a_running_run_heartbeats_until_it_ends(store: SqlStore) -> None:
    rid = _run(store)
    before = store.get_run(rid).heartbeat_at
    assert before is not None  # creating the run is its first sign of life
    time.sleep(0.01)
    assert store.heartbeat_run(rid) is True
    assert (store.get_run(rid).heartbeat_at or 0) > before
    store.end_run(rid, "finished", [])
    assert store.heartbeat_run(rid) is False


def test_the_store_reports_its_schema_revision(store: SqlStore) -> None:
    from mainsail.store import SCHEMA_REVISION

    assert store.schema_revision() == SCHEMA_REVISION


def test_a_run_without_heartbeats_is_never_reaped_for_silence(store: SqlStore) -> None:
    beating = _run(store, host="elsewhere", start_time=1)
    silent = _run(store, host="elsewhere", start_time=1, heartbeats=False)  # e.g. MLflow's
    store.reap_dead_runs()
    assert store.get_run(beating).status == "failed"  # silent since 1970: its process is gone
    assert store.get_run(silent).status == "running"  # its client ends it
