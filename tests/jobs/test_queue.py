"""The database job queue on SQLite and PostgreSQL: claims, retries, reaping, dedupe."""

from __future__ import annotations

import time
from typing import Any

import pytest

import mainsail
import mainsail.jobs as jobs
from mainsail.core import MainsailError


def test_enqueue_get_list_and_run(jctx) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, dict[str, Any], int]] = []

    def add(payload: dict[str, Any], job: jobs.Job) -> dict[str, Any]:
        seen.append((job.id, payload, job.attempts))
        return {"sum": payload["a"] + payload["b"]}

    a = mainsail.enqueue_job("add", {"a": 1, "b": 2})
    b = mainsail.enqueue_job("add", {"a": 3, "b": 4}, queue="other")
    job = mainsail.get_job(a)
    assert (job.status, job.attempts, job.kind, job.payload, job.queue) == (
        "queued",
        0,
        "add",
        {"a": 1, "b": 2},
        "default",
    )
    worker = jobs.Worker(mainsail.get_context(), handlers={"add": add}, worker_id="w1")
    assert worker.run(until_idle=True) == 1  # only the default queue
    done = mainsail.get_job(a)
    assert (done.status, done.attempts, done.result, done.claimed_by) == (
        "done",
        1,
        {"sum": 3},
        "w1",
    )
    assert done.finished_at is not None and done.heartbeat_at is not None
    assert mainsail.get_job(b).status == "queued"
    assert (
        jobs.Worker(mainsail.get_context(), ["other"], handlers={"add": add}).run(until_idle=True)
        == 1
    )
    assert [j.id for j in mainsail.list_jobs(status="done")] == [b, a]
    assert mainsail.list_jobs(queue="other")[0].result == {"sum": 7}
    assert seen == [(a, {"a": 1, "b": 2}, 1), (b, {"a": 3, "b": 4}, 1)]


def test_dedupe_key_returns_the_live_job(jctx) -> None:  # type: ignore[no-untyped-def]
    first = mainsail.enqueue_job("noop", {}, dedupe_key="retrain:churn")
    assert mainsail.enqueue_job("noop", {"other": 1}, dedupe_key="retrain:churn") == first
    other = mainsail.enqueue_job("noop", {}, dedupe_key="retrain:fraud")
    assert other != first
    jobs.register_handler("noop", lambda payload, job: None)
    try:
        jobs.Worker(mainsail.get_context()).run(until_idle=True)
    finally:
        jobs.HANDLERS.pop("noop")
    again = mainsail.enqueue_job("noop", {}, dedupe_key="retrain:churn")  # the first one is done
    assert again not in (first, other)
    assert len(mainsail.list_jobs()) == 3


def test_retry_then_success(jctx) -> None:  # type: ignore[no-untyped-def]
    def flaky(payload: dict[str, Any], job: jobs.Job) -> str:
        if job.attempts < 2:
            raise ConnectionError("upstream went away")
        return "ok"

    job_id = mainsail.enqueue_job("flaky", {}, max_attempts=3)
    worker = jobs.Worker(mainsail.get_context(), handlers={"flaky": flaky}, retry_delay_s=0)
    assert worker.run(until_idle=True) == 2
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts, job.result) == ("done", 2, "ok")


def test_max_attempts_then_failed(jctx) -> None:  # type: ignore[no-untyped-def]
    def broken(payload: dict[str, Any], job: jobs.Job) -> None:
        raise RuntimeError(f"attempt {job.attempts} broke")

    job_id = mainsail.enqueue_job("broken", {}, max_attempts=2)
    assert (
        jobs.Worker(mainsail.get_context(), handlers={"broken": broken}, retry_delay_s=0).run(
            until_idle=True
        )
        == 2
    )
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts) == ("failed", 2)
    assert "RuntimeError: attempt 2 broke" in (job.error or "")


def test_retry_waits_for_the_back_off(jctx) -> None:  # type: ignore[no-untyped-def]
    def broken(payload: dict[str, Any], job: jobs.Job) -> None:
        raise RuntimeError("no")

    job_id = mainsail.enqueue_job("broken", {}, max_attempts=3)
    worker = jobs.Worker(mainsail.get_context(), handlers={"broken": broken}, retry_delay_s=60)
    assert worker.run(until_idle=True) == 1
    job = mainsail.get_job(job_id)
    assert job.status == "queued" and job.run_after > time.time() * 1000 + 50_000


def test_unknown_kind_fails_at_once_with_the_known_kinds(jctx) -> None:  # type: ignore[no-untyped-def]
    job_id = mainsail.enqueue_job("mystery", {}, max_attempts=5)
    assert jobs.Worker(mainsail.get_context(), retry_delay_s=0).run(until_idle=True) == 1
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert "No handler for job kind 'mystery'. Known kinds: automation.retrain, pipeline" in (
        job.error or ""
    )


def test_future_jobs_wait(jctx) -> None:  # type: ignore[no-untyped-def]
    job_id = mainsail.enqueue_job("x", {}, run_after_ms=int(time.time() * 1000) + 60_000)
    assert jobs.Worker(mainsail.get_context()).run(until_idle=True) == 0
    assert mainsail.get_job(job_id).status == "queued"


def test_a_job_whose_worker_stopped_heartbeating_is_requeued_then_failed(jctx) -> None:  # type: ignore[no-untyped-def]
    store = jctx.store
    job_id = mainsail.enqueue_job("x", {}, max_attempts=2)
    assert store.claim_job(["default"], "dead-1", lease_ms=1)["id"] == job_id
    time.sleep(0.01)
    jobs.reap_stale_jobs(mainsail.get_context())
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts, job.claimed_by) == ("queued", 1, None)
    assert "Worker dead-1 stopped sending heartbeats" in (job.error or "")
    assert "Re-queued" in (job.error or "")
    # the dead worker cannot complete or heartbeat the job any more
    assert store.heartbeat_job(job_id, "dead-1", 1000) is False
    assert store.complete_job(job_id, "dead-1", "late") is False
    store.claim_job(["default"], "dead-2", lease_ms=1)
    time.sleep(0.01)
    (reaped,) = jobs.reap_stale_jobs(mainsail.get_context())
    assert reaped == {"id": job_id, "status": "failed", "claimed_by": "dead-2", "attempts": 2}
    job = mainsail.get_job(job_id)
    assert job.status == "failed" and "No attempts left" in (job.error or "")
    assert job.finished_at is not None


def test_heartbeats_keep_a_long_job_alive(jctx) -> None:  # type: ignore[no-untyped-def]
    def slow(payload: dict[str, Any], job: jobs.Job) -> str:
        time.sleep(1.0)  # much longer than the lease; heartbeats extend it
        assert jobs.reap_stale_jobs(mainsail.get_context()) == []
        return "finished"

    job_id = mainsail.enqueue_job("slow", {})
    jobs.Worker(mainsail.get_context(), handlers={"slow": slow}, lease_s=0.3).run(until_idle=True)
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts, job.result) == ("done", 1, "finished")


def test_bad_input_is_refused(jctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MainsailError, match="max_attempts must be an integer >= 1"):
        mainsail.enqueue_job("x", {}, max_attempts=0)
    with pytest.raises(MainsailError, match="must be JSON data"):
        mainsail.enqueue_job("x", {"when": object()})
    with pytest.raises(MainsailError, match="A job kind is a non-empty string"):
        mainsail.enqueue_job("", {})
    with pytest.raises(MainsailError, match="No job with id 999"):
        mainsail.get_job(999)
    with pytest.raises(MainsailError, match="Job status must be one of queued, running"):
        mainsail.list_jobs(status="lost")
    with pytest.raises(MainsailError, match="'module:function'"):
        jobs.register_handler("x", "no_colon")
    with pytest.raises(MainsailError, match="at least one queue"):
        jobs.Worker(mainsail.get_context(), queues=[])
