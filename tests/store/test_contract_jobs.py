"""The store contract for the job queue: enqueue and read, and a worker's claim, heartbeat,
complete and fail.

The ``store`` fixture (tests/store/conftest.py) runs every test over the SQL stores (SQLite,
PostgreSQL) and the REST store against a server in process over each. Through a server the
lease holder is bound to the caller (``admin/<worker id>``, so one user's token cannot
finish another's job); the worker keeps using its own id and the server binds it each time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from mainsail.core import InvalidValueError
from mainsail.store import SqlStore
from mainsail.store.protocols import JobStore, Store

ROW_KEYS = {
    "id",
    "queue",
    "kind",
    "payload",
    "status",
    "attempts",
    "max_attempts",
    "run_after",
    "created_at",
    "dedupe_key",
    "claimed_by",
    "claimed_at",
    "heartbeat_at",
    "lease_expires_at",
    "result",
    "error",
    "finished_at",
}
LEASE_MS = 60_000


def _now() -> int:
    return int(time.time() * 1000)


def _claim(store: Any, worker: str = "w1", queue: str = "q", kind: str = "echo") -> Any:
    return store.claim_job([queue], worker, LEASE_MS, [kind], wait_s=0.0)


def _holder(row: dict[str, Any], worker: str) -> bool:
    """The lease holder as stored: the worker id, or, through a server, the caller's name
    and the worker id."""
    return row["claimed_by"] in (worker, f"admin/{worker}")


def test_both_stores_are_job_stores(store: SqlStore) -> None:
    assert isinstance(store, JobStore) and isinstance(store, Store)


def test_enqueue_get_and_list(store: SqlStore) -> None:
    before = _now()
    a, created = store.enqueue_job("q", "echo", {"n": 1, "tags": ["x"]}, None, 2)
    assert created is True
    row = store.get_job_row(a)
    assert row is not None and set(row) == ROW_KEYS
    assert (row["queue"], row["kind"], row["payload"], row["status"]) == (
        "q",
        "echo",
        {"n": 1, "tags": ["x"]},
        "queued",
    )
    assert (row["attempts"], row["max_attempts"], row["claimed_by"], row["dedupe_key"]) == (
        0,
        2,
        None,
        None,
    )
    assert before - 5_000 <= row["run_after"] <= _now() + 5_000  # now, by the store's clock
    b, _ = store.enqueue_job("other", "score", {}, None, 3, run_after_ms=1)
    assert store.get_job_row(b)["run_after"] == 1  # type: ignore[index]
    assert [r["id"] for r in store.list_job_rows()] == [b, a]  # newest first
    assert [r["id"] for r in store.list_job_rows(queue="q")] == [a]
    assert [r["id"] for r in store.list_job_rows(kind="score")] == [b]
    assert [r["id"] for r in store.list_job_rows(status="queued", limit=1)] == [b]
    assert store.list_job_rows(status="done") == []
    assert set(store.list_job_rows()[0]) == ROW_KEYS


def test_unknown_jobs_and_bad_filters(store: SqlStore) -> None:
    assert store.get_job_row(987654) is None
    assert store.get_job_row(0) is None
    with pytest.raises(InvalidValueError, match="Job status must be one of queued, running"):
        store.list_job_rows(status="lost")


def test_a_live_dedupe_key_returns_the_live_job(store: SqlStore) -> None:
    first, created = store.enqueue_job("q", "echo", {"n": 1}, "retrain:churn", 3)
    assert created
    again, created = store.enqueue_job("q", "echo", {"n": 2}, "retrain:churn", 3)
    assert (again, created) == (first, False)
    assert store.get_job_row(first)["payload"] == {"n": 1}  # type: ignore[index]
    other, created = store.enqueue_job("q", "echo", {}, "retrain:fraud", 3)
    assert created and other != first
    row = _claim(store)
    assert row is not None and row["id"] == first  # running is still live
    assert store.enqueue_job("q", "echo", {}, "retrain:churn", 3) == (first, False)
    assert store.complete_job(first, "w1", {"ok": True}) is True
    fresh, created = store.enqueue_job("q", "echo", {}, "retrain:churn", 3)  # done: free again
    assert created and fresh not in (first, other)


def test_claim_heartbeat_complete(store: SqlStore) -> None:
    job_id, _ = store.enqueue_job("q", "echo", {"n": 1}, None, 3)
    assert store.claim_job(["elsewhere"], "w1", LEASE_MS, ["echo"]) is None
    assert store.claim_job(["q"], "w1", LEASE_MS, ["other-kind"]) is None
    row = _claim(store)
    assert row is not None and set(row) == ROW_KEYS
    assert (row["id"], row["status"], row["attempts"]) == (job_id, "running", 1)
    assert _holder(row, "w1")
    assert row["lease_expires_at"] >= row["claimed_at"] + LEASE_MS
    assert _claim(store) is None  # running: nobody else gets it
    assert store.heartbeat_job(job_id, "w1", LEASE_MS) is True
    # another worker holds no lease on it
    assert store.heartbeat_job(job_id, "w2", LEASE_MS) is False
    assert store.complete_job(job_id, "w2", "stolen") is False
    assert store.fail_job(job_id, "w2", "nope", 0) is None
    assert store.complete_job(job_id, "w1", {"sum": 3}) is True
    done = store.get_job_row(job_id)
    assert done is not None
    assert (done["status"], done["result"], done["error"]) == ("done", {"sum": 3}, None)
    assert done["finished_at"] is not None and _holder(done, "w1")
    assert store.complete_job(job_id, "w1", "again") is False  # no longer running
    assert store.heartbeat_job(job_id, "w1", LEASE_MS) is False


def test_fail_retries_after_the_delay_then_fails_for_good(store: SqlStore) -> None:
    job_id, _ = store.enqueue_job("q", "echo", {}, None, 2)
    assert _claim(store) is not None
    assert store.fail_job(job_id, "w1", "boom", retry_delay_ms=60_000) == "queued"
    row = store.get_job_row(job_id)
    assert row is not None and (row["status"], row["error"], row["claimed_by"]) == (
        "queued",
        "boom",
        None,
    )
    assert row["run_after"] >= _now() + 50_000
    assert _claim(store) is None  # not due before the back-off
    assert store.fail_job(job_id, "w1", "late", 0) is None  # no longer its job
    retry, _ = store.enqueue_job("q", "echo", {}, None, 2)
    assert _claim(store)["id"] == retry  # type: ignore[index]
    assert store.fail_job(retry, "w1", "first", 0) == "queued"
    again = _claim(store, "w2")
    assert again is not None and (again["id"], again["attempts"]) == (retry, 2)
    assert store.fail_job(retry, "w2", "second", 0) == "failed"  # no attempts left
    row = store.get_job_row(retry)
    assert row is not None and (row["status"], row["error"]) == ("failed", "second")
    assert row["finished_at"] is not None


def test_a_job_failed_without_retry_is_failed_at_once(store: SqlStore) -> None:
    job_id, _ = store.enqueue_job("q", "echo", {}, None, 5)
    assert _claim(store) is not None
    assert store.fail_job(job_id, "w1", "no handler", 0, retry=False) == "failed"
    assert store.get_job_row(job_id)["attempts"] == 1  # type: ignore[index]


def test_claims_take_the_oldest_due_job_of_the_asked_queues_and_kinds(store: SqlStore) -> None:
    later, _ = store.enqueue_job("q", "echo", {}, None, 3, run_after_ms=_now() + 600_000)
    first, _ = store.enqueue_job("q", "echo", {"i": 1}, None, 3)
    second, _ = store.enqueue_job("q", "echo", {"i": 2}, None, 3)
    other, _ = store.enqueue_job("q", "score", {}, None, 3)
    assert _claim(store)["id"] == first  # type: ignore[index]
    assert _claim(store)["id"] == second  # type: ignore[index]
    assert _claim(store) is None  # the next echo job is not due yet
    row = store.claim_job(["x", "q"], "w1", LEASE_MS, ["score", "echo"])
    assert row is not None and row["id"] == other
    assert store.get_job_row(later)["status"] == "queued"  # type: ignore[index]
