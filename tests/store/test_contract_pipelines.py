"""The store contract for pipelines: pipeline runs, step runs, the step cache and its claims.

The ``store`` fixture (tests/store/conftest.py) runs every test over the SQL stores
(SQLite, PostgreSQL) and the REST store against a server in process.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from mainsail.core import InvalidValueError, NotFoundError
from mainsail.core._errors import PipelineRunNotFoundError
from mainsail.store import SqlStore

D1, D2, D3 = "1" * 64, "2" * 64, "3" * 64
ROW_KEYS = {
    "id",
    "pipeline",
    "run_id",
    "status",
    "params",
    "executor",
    "outputs",
    "trigger",
    "error",
    "created_at",
    "finished_at",
}


def _prun(store: SqlStore, pipeline: str = "flow", **kw: Any) -> str:
    prid = uuid.uuid4().hex
    store.create_pipeline_run(
        prid, pipeline, kw.get("run_id"), kw.get("params", {"n": 3}), "inprocess", kw.get("trigger")
    )
    return prid


def _meta(digest: str) -> dict[str, Any]:
    return {"digest": digest, "format": "json", "size": 3}


def _step(store: SqlStore, prid: str, step: str = "load", **fields: Any) -> int:
    values: dict[str, Any] = {
        "pipeline_run_id": prid,
        "step": step,
        "cache_key": D1,
        "status": "running",
        "inputs": {"n": {"value": 3}},
        "outputs": {},
        "reason": ["no cache entry"],
        "started_at": 10,
    }
    return store.add_step_run(**{**values, **fields})


def test_pipeline_run_round_trip_and_listing(store: SqlStore) -> None:
    prid = _prun(store, params={"n": 3, "lr": [0.1]}, trigger={"type": "manual"})
    row = store.get_pipeline_run_row(prid)
    assert set(row) == ROW_KEYS
    assert (row["status"], row["pipeline"], row["params"]) == (
        "running",
        "flow",
        {"n": 3, "lr": [0.1]},
    )
    assert row["trigger"] == {"type": "manual"} and row["finished_at"] is None
    assert store.get_pipeline_run_row(prid[:8])["id"] == prid  # a unique prefix works
    with pytest.raises(InvalidValueError, match="succeeded.*or.*failed"):
        store.finish_pipeline_run(prid, "exploded", {})
    outputs = {"summary": {**_meta(D2), "from": "summarise.output"}}
    store.finish_pipeline_run(prid, "succeeded", outputs)
    row = store.get_pipeline_run_row(prid)
    assert (row["status"], row["outputs"], row["error"]) == ("succeeded", outputs, None)
    assert row["finished_at"] >= row["created_at"]
    name = f"flow-{uuid.uuid4().hex[:6]}"
    first, second = _prun(store, name), _prun(store, name)
    _prun(store, f"other-{name}")
    store.finish_pipeline_run(first, "failed", {}, "step 'load' failed: boom")
    assert {r["id"] for r in store.list_pipeline_run_rows(name)} == {first, second}
    rows = store.list_pipeline_run_rows(name, status="failed")
    assert [(r["id"], r["error"]) for r in rows] == [(first, "step 'load' failed: boom")]
    assert set(rows[0]) == ROW_KEYS
    assert len(store.list_pipeline_run_rows(name, limit=1)) == 1


def test_unknown_ids_are_clear_errors(store: SqlStore) -> None:
    for missing in ("nope", "abcdef12", uuid.uuid4().hex):
        with pytest.raises(PipelineRunNotFoundError, match="No pipeline run with id"):
            store.get_pipeline_run_row(missing)
    with pytest.raises(PipelineRunNotFoundError, match="mainsail pipeline runs"):
        store.finish_pipeline_run(uuid.uuid4().hex, "failed", {})
    with pytest.raises(PipelineRunNotFoundError):
        _step(store, uuid.uuid4().hex)
    assert store.step_run_rows(uuid.uuid4().hex) == []
    with pytest.raises(NotFoundError, match="No step run with id 987654"):
        store.update_step_run(987654, status="failed")
    with pytest.raises(NotFoundError, match="No step run with id 987654"):
        store.update_step_run(987654)  # nothing to change still checks the id
    with pytest.raises(NotFoundError, match="No step cache entry with key"):
        store.commit_cache_entry("4" * 64, {"output": _meta(D2)})
    with pytest.raises(NotFoundError, match="No step cache entry"):
        store.invalidate_cache_entry("4" * 64)


def test_step_runs_round_trip_producing_and_previous(store: SqlStore) -> None:
    prid = _prun(store)
    a = _step(store, prid, "load")
    b = _step(store, prid, "train", cache_key="", status="skipped", reason=["upstream"])
    store.update_step_run(a, status="succeeded", outputs={"output": _meta(D2)}, finished_at=20)
    store.update_step_run(b)  # nothing to change: a no-op
    rows = store.step_run_rows(prid)
    assert [(r["id"], r["step"], r["status"]) for r in rows] == [
        (a, "load", "succeeded"),
        (b, "train", "skipped"),
    ]
    assert rows[0]["outputs"] == {"output": _meta(D2)}
    assert rows[0]["inputs"] == {"n": {"value": 3}}
    assert (rows[0]["reason"], rows[0]["started_at"], rows[0]["finished_at"]) == (
        ["no cache entry"],
        10,
        20,
    )
    assert rows[0]["cached_from"] is None and rows[0]["error"] is None
    digest = uuid.uuid4().hex * 2
    name = f"flow-{uuid.uuid4().hex[:6]}"
    first, second = _prun(store, name), _prun(store, name)
    made = _step(store, first, status="succeeded", outputs={"output": _meta(digest)})
    reused = _step(
        store, second, status="cached", outputs={"output": _meta(digest)}, cached_from=first
    )
    _step(store, second, "other", status="failed", outputs={"output": _meta(D3)})
    assert [r["id"] for r in store.step_runs_producing(digest)] == [made, reused]
    assert store.step_runs_producing("0" * 64) == []
    prev = store.previous_step_run(name, "load", reused)
    assert prev is not None and (prev["id"], prev["pipeline_run_id"]) == (made, first)
    assert store.previous_step_run(name, "load", made) is None
    assert store.previous_step_run(f"not-{name}", "load", reused) is None


def test_cache_entry_lifecycle(store: SqlStore) -> None:
    key, step = uuid.uuid4().hex * 2, f"step-{uuid.uuid4().hex[:6]}"
    prid = _prun(store)
    assert store.get_cache_entry(key) is None and store.latest_cache_entry(step) is None
    comps = {"step": step, "params": {"n": 3}, "inputs": {}}
    assert store.begin_cache_entry(key, step, comps, prid) is True
    entry = store.get_cache_entry(key)
    assert entry is not None
    assert (entry["committed"], entry["outputs"], entry["pipeline_run_id"]) == (False, {}, prid)
    assert entry["components"] == comps and entry["step"] == step
    store.commit_cache_entry(key, {"output": _meta(D2)})
    entry = store.get_cache_entry(key)
    assert entry is not None and entry["committed"] is True
    assert entry["outputs"] == {"output": _meta(D2)}
    latest = store.latest_cache_entry(step)
    assert latest is not None and latest["cache_key"] == key
    store.invalidate_cache_entry(key)
    entry = store.get_cache_entry(key)
    assert entry is not None and entry["committed"] is False


def test_a_live_claim_keeps_other_runs_out_until_it_ends(store: SqlStore) -> None:
    key, comps = uuid.uuid4().hex * 2, {"step": "s"}
    a, b = _prun(store), _prun(store)
    assert store.begin_cache_entry(key, "s", comps, a) is True
    assert store.begin_cache_entry(key, "s", comps, b) is False  # a is running: wait for it
    assert store.begin_cache_entry(key, "s", comps, a) is True  # its own claim again
    assert store.get_cache_entry(key)["pipeline_run_id"] == a  # type: ignore[index]
    store.commit_cache_entry(key, {"output": _meta(D2)})
    # committed meanwhile: b reuses it unless it asks to replace it (no-cache, lost blob)
    assert store.begin_cache_entry(key, "s", comps, b) is False
    assert store.get_cache_entry(key)["committed"] is True  # type: ignore[index]
    assert store.begin_cache_entry(key, "s", comps, b, replace_committed=True) is True
    entry = store.get_cache_entry(key)
    assert entry is not None and (entry["committed"], entry["pipeline_run_id"]) == (False, b)
    # a claim whose run finished without committing is taken over
    key = uuid.uuid4().hex * 2
    a, b = _prun(store), _prun(store)
    assert store.begin_cache_entry(key, "s", comps, a) is True
    store.finish_pipeline_run(a, "failed", {}, "interrupted")  # died before committing
    assert store.begin_cache_entry(key, "s", comps, b) is True
    assert store.get_cache_entry(key)["pipeline_run_id"] == b  # type: ignore[index]
    # so is one older than the staleness bound
    if not isinstance(store, SqlStore):
        return  # the staleness bound is the server's setting, not the client's
    key = uuid.uuid4().hex * 2
    a, b = _prun(store), _prun(store)
    assert store.begin_cache_entry(key, "s", comps, a) is True
    assert store.begin_cache_entry(key, "s", comps, b, stale_after_ms=10**9) is False
    assert store.begin_cache_entry(key, "s", comps, b, stale_after_ms=0) is True


def test_a_released_claim_lets_another_run_in_at_once(store: SqlStore) -> None:
    key, comps = uuid.uuid4().hex * 2, {"step": "s"}
    a, b = _prun(store), _prun(store)
    assert store.begin_cache_entry(key, "s", comps, a) is True
    assert store.release_cache_entry(key, b) is False  # only the holder releases its claim
    assert store.begin_cache_entry(key, "s", comps, b) is False
    assert store.release_cache_entry(key, a) is True  # a's step failed; a runs on
    entry = store.get_cache_entry(key)
    assert entry is not None
    assert (entry["committed"], entry["pipeline_run_id"], entry["components"]) == (
        False,
        None,
        comps,
    )
    assert store.release_cache_entry(key, a) is False  # nothing left to release
    assert store.begin_cache_entry(key, "s", comps, b) is True  # a still runs: b need not wait
    store.commit_cache_entry(key, {"output": _meta(D2)})
    assert store.release_cache_entry(key, b) is False  # a committed entry is kept
    entry = store.get_cache_entry(key)
    assert entry is not None and (entry["committed"], entry["pipeline_run_id"]) == (True, b)
    assert store.release_cache_entry("5" * 64, a) is False  # an unknown key: nothing held


def test_racing_claims_have_one_winner(store: SqlStore) -> None:
    key, comps = uuid.uuid4().hex * 2, {"step": "s"}
    runs = [_prun(store) for _ in range(4)]
    results: dict[str, bool] = {}
    go = threading.Barrier(len(runs))

    def claim(prid: str) -> None:
        go.wait()
        results[prid] = store.begin_cache_entry(key, "s", comps, prid)

    threads = [threading.Thread(target=claim, args=(p,)) for p in runs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    winners = [p for p, ok in results.items() if ok]
    assert len(results) == len(runs) and len(winners) == 1
    assert store.get_cache_entry(key)["pipeline_run_id"] == winners[0]  # type: ignore[index]
