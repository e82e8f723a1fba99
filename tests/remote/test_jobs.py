"""The job queue behaves the same embedded and against a server; the reaper needs the database.

Workers against a server: tests/remote/test_worker.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import mainsail
from mainsail import jobs
from mainsail.core._errors import ConfigurationError, InvalidValueError, JobNotFoundError


def test_enqueue_inspect_and_list(sdk_mode: str, unique: str) -> None:
    q = f"q-{unique}"
    a = mainsail.enqueue_job("echo", {"n": 1, "tags": ["x"]}, queue=q, max_attempts=2)
    b = mainsail.enqueue_job("echo", {"n": 2}, queue=q, dedupe_key=f"k-{unique}", run_after_ms=1)
    assert mainsail.enqueue_job("echo", {"n": 3}, queue=q, dedupe_key=f"k-{unique}") == b  # reused
    job = mainsail.get_job(a)
    assert (job.kind, job.queue, job.payload, job.status) == (
        "echo",
        q,
        {"n": 1, "tags": ["x"]},
        "queued",
    )
    assert (job.attempts, job.max_attempts, job.claimed_by) == (0, 2, None)
    assert mainsail.get_job(b).run_after == 1 and mainsail.get_job(b).dedupe_key == f"k-{unique}"
    assert [j.id for j in mainsail.list_jobs(queue=q)] == [b, a]
    assert [j.id for j in mainsail.list_jobs(queue=q, limit=1)] == [b]
    assert mainsail.list_jobs(status="done", queue=q) == []
    assert mainsail.list_jobs(queue=q, kind="other") == []
    if sdk_mode == "remote":
        api = mainsail.get_context().remote
        assert api is not None
        events = api.json("GET", "/audit", params={"action": "jobs.enqueue", "target": f"jobs/{a}"})
        assert events[0]["after"]["queue"] == q and events[0]["actor"] == "admin"


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: mainsail.enqueue_job("", {}),
            InvalidValueError,
            "A job kind is a non-empty string",
        ),
        (lambda: mainsail.enqueue_job("a b", {}), InvalidValueError, "letters, digits and _ . : -"),
        (lambda: mainsail.enqueue_job("k", {}, queue="x" * 65), InvalidValueError, "queue name"),
        (lambda: mainsail.enqueue_job("k", [1]), InvalidValueError, "A job payload is a dict"),  # type: ignore[arg-type]
        (
            lambda: mainsail.enqueue_job("k", {"t": object()}),
            InvalidValueError,
            "must be JSON data",
        ),
        (lambda: mainsail.enqueue_job("k", {}, max_attempts=0), InvalidValueError, "max_attempts"),
        (lambda: mainsail.enqueue_job("k", {}, max_attempts=101), InvalidValueError, "at most 100"),
        (lambda: mainsail.enqueue_job("k", {}, dedupe_key=""), InvalidValueError, "dedupe_key"),
        (lambda: mainsail.enqueue_job("k", {}, run_after_ms=-1), InvalidValueError, "run_after_ms"),
        (lambda: mainsail.get_job(2**40), JobNotFoundError, "No job with id"),
        (lambda: mainsail.get_job(0), JobNotFoundError, "No job with id 0"),
        (lambda: mainsail.list_jobs(status="lost"), InvalidValueError, "must be one of queued"),
        (lambda: mainsail.list_jobs(limit=0), InvalidValueError, "limit must be an integer"),
    ],
)
def test_bad_input_gets_the_same_error_in_both_modes(
    sdk_mode: str, call: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_the_reaper_needs_the_database_and_a_worker_claims_what_it_can_run(
    remote: Any, unique: str
) -> None:
    mainsail.enqueue_job("echo", {}, queue=f"w-{unique}")
    with pytest.raises(ConfigurationError, match="needs the metadata database"):
        jobs.reap_stale_jobs(mainsail.get_context())  # the server reaps
    assert (
        jobs.run_worker(mainsail.get_context(), [f"w-{unique}"], until_idle=True) == 0
    )  # no handler for echo here
    assert jobs.Worker(mainsail.get_context(), [f"w-{unique}"]).run_one() is None
    assert mainsail.list_jobs(queue=f"w-{unique}")[0].status == "queued"  # nothing was claimed


def test_cli(sdk_mode: str, unique: str, cli: Callable[..., tuple[int, str, str]]) -> None:
    q = f"c-{unique}"
    job_id = mainsail.enqueue_job("echo", {"hello": "world"}, queue=q)
    code, out, err = cli("jobs", "list", "-q", q, "--json")
    assert code == 0, err
    assert [j["id"] for j in json.loads(out)] == [job_id]
    code, out, err = cli("jobs", "show", str(job_id))
    assert code == 0, err
    assert json.loads(out)["payload"] == {"hello": "world"}
    code, _, err = cli("jobs", "list", "--status", "lost")
    assert code == 1 and "must be one of queued" in err
    # a worker started for a kind it has no handler for says so, in either mode
    code, _, err = cli("worker", "--once", "-q", q, "--kind", "echo")
    assert code == 1 and "No handler for job kind(s) 'echo'" in err, err
    assert mainsail.get_job(job_id).status == "queued"
