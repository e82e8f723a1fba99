"""A worker on another host serves the queue through a real server (``MAINSAIL_TRACKING_URI``).

The worker claims by long poll, heartbeats, completes and fails through ``/api/v1/jobs``;
the lease rules are the SQL store's and the server reaps silent workers' jobs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

import mainsail
from mainsail import jobs
from mainsail.core._errors import (
    ConfigurationError,
    InvalidValueError,
    PermissionDeniedError,
)
from mainsail.server._process import ServerProcess
from mainsail.store._rest_store import RestClient, RestStore

FLOW = """
import mainsail

@mainsail.step
def double(n: int) -> int:
    return 2 * n

@mainsail.pipeline
def flow(n: int = 2):
    return {"doubled": double(n)}
"""

ECHO = """
def echo(payload, job):
    return {"echo": payload, "attempt": job.attempts}
"""


def _module(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


def _next_to_database(srv: ServerProcess, kind: str, payload: dict[str, Any], queue: str) -> int:
    """Enqueue a job as an in-process controller does: straight into the server's database."""
    from mainsail.client._context import build_context
    from mainsail.core._settings import Settings

    ctx = build_context(Settings(home=srv.home, tracking_uri=None))
    try:
        return jobs.enqueue(ctx, kind, payload, queue=queue)
    finally:
        ctx.close()


def _api() -> RestClient:
    api = mainsail.get_context().remote
    assert api is not None
    return api


def _rest() -> RestStore:
    return cast(RestStore, mainsail.get_context().store)


def _wait_for(job_id: int, status: str, timeout: float = 10.0) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while (job := mainsail.get_job(job_id)).status != status:
        assert time.monotonic() < deadline, f"job {job_id} is {job.status}, expected {status}"
        time.sleep(0.05)
    return job


def test_a_remote_worker_runs_a_pipeline_job(
    remote: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unique: str,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    folder = tmp_path / "project"
    _module(folder, f"flow_{unique}", FLOW)
    monkeypatch.syspath_prepend(str(folder))
    q = f"p-{unique}"
    job_id = mainsail.enqueue_job(
        "pipeline", {"pipeline": f"flow_{unique}:flow", "params": {"n": 3}}, queue=q
    )
    # only the automation controller enqueues a retraining (POST /jobs refuses the kind):
    # queue one as the controller does, next to the server's database
    with pytest.raises(PermissionDeniedError, match="enqueued only by their controller"):
        mainsail.enqueue_job("automation.retrain", {"automation": "x"}, queue=q)
    retrain = _next_to_database(remote, "automation.retrain", {"automation": "x"}, q)
    code, out, err = cli("worker", "--once", "-q", q)
    assert code == 0, err
    assert f"through {remote.url}" in out and "processed 1 job(s)" in out
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts, job.error) == ("done", 1, None)
    assert job.result["status"] == "succeeded"
    run = mainsail.get_pipeline_run(job.result["pipeline_run_id"])
    assert run.status == "succeeded" and run.trigger["job_id"] == job_id
    # a kind that writes to the database itself is left for a worker next to the database
    assert mainsail.get_job(retrain).status == "queued"
    events = _api().json("GET", "/audit", params={"target": f"jobs/{job_id}"})
    actions = [e["action"] for e in events]
    assert "jobs.claim" in actions and "jobs.complete" in actions
    done = next(e for e in events if e["action"] == "jobs.complete")
    assert done["actor"] == "admin" and done["after"]["held"] is True


def test_a_worker_process_long_polls(
    live_server: tuple[ServerProcess, str], remote: ServerProcess, tmp_path: Path, unique: str
) -> None:
    srv, token = live_server
    folder = tmp_path / "handlers"
    _module(folder, f"echo_{unique}", ECHO)
    q = f"lp-{unique}"
    env = {
        **os.environ,
        "MAINSAIL_TRACKING_URI": srv.url,
        "MAINSAIL_TOKEN": token,
        "MAINSAIL_HOME": str(tmp_path / "worker-home"),
        "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
    }
    args = ["-q", q, "--max-jobs", "1", "--wait", "20", "--kind", "echo"]
    args += ["--handler", f"echo=echo_{unique}:echo"]
    log = tmp_path / "worker.log"
    with (
        log.open("w") as errors,
        subprocess.Popen(
            [sys.executable, "-m", "mainsail", "worker", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            match = re.search(r"Worker (\S+) serving", first)
            assert match is not None, first + log.read_text()
            worker_id = match.group(1)
            time.sleep(1.0)  # the worker is now inside its first claim, waiting
            started = time.monotonic()
            job_id = mainsail.enqueue_job("echo", {"x": 1}, queue=q)
            job = _wait_for(job_id, "done")
            latency = time.monotonic() - started
            assert proc.wait(timeout=15) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert job.result == {"echo": {"x": 1}, "attempt": 1} and job.claimed_by == f"admin/{worker_id}"
    assert latency < 3.0  # picked up within the server's look interval, not a client poll
    claims = [
        e
        for e in _api().json("GET", "/audit", params={"action": "jobs.claim", "limit": 1000})
        if (e["after"] or {}).get("worker_id") == worker_id
    ]
    assert len(claims) == 1  # idle for over a second, and one request did it all


def test_a_failing_handler_is_retried_then_failed(remote: ServerProcess, unique: str) -> None:
    q = f"f-{unique}"

    def boom(payload: dict[str, Any], job: jobs.Job) -> Any:
        raise RuntimeError(f"boom on attempt {job.attempts}")

    def refuse(payload: dict[str, Any], job: jobs.Job) -> Any:
        raise InvalidValueError("payload['x'] must be a number. Got 'y'.")

    flaky = mainsail.enqueue_job("boom", {}, queue=q, max_attempts=2)
    bad = mainsail.enqueue_job("refuse", {}, queue=q, max_attempts=3)
    other = mainsail.enqueue_job("elsewhere", {}, queue=q)  # no handler here: not claimed
    w = jobs.Worker(
        mainsail.get_context(), [q], handlers={"boom": boom, "refuse": refuse}, retry_delay_s=0.0
    )
    assert w.claim_kinds() == ["boom", "pipeline", "refuse"]
    assert w.run(until_idle=True) == 3  # boom twice (retried at once), refuse once
    job = mainsail.get_job(flaky)
    assert (job.status, job.attempts) == ("failed", 2)
    assert "RuntimeError: boom on attempt 2" in (job.error or "")
    job = mainsail.get_job(bad)
    assert (job.status, job.attempts) == ("failed", 1)  # bad input is not retried
    assert job.error == "Invalid value: payload['x'] must be a number. Got 'y'."
    assert mainsail.get_job(other).status == "queued"


def test_a_worker_whose_lease_expired_cannot_complete(remote: ServerProcess, unique: str) -> None:
    q = f"l-{unique}"
    store = _rest()
    job_id = mainsail.enqueue_job("echo", {}, queue=q, max_attempts=3)
    first = store.claim_job([q], "slow", 100, ["echo"])
    # the server binds a worker id to the caller: "admin/slow"
    assert first is not None and (first["id"], first["claimed_by"]) == (job_id, "admin/slow")
    assert store.heartbeat_job(job_id, "slow", 100) is True
    assert store.claim_job([q], "other", 1000, ["echo"]) is None  # leased, not claimable
    time.sleep(0.2)  # the lease runs out; the next claim (within the wait) reaps it
    second = store.claim_job([q], "fast", 5000, ["echo"], wait_s=5)
    assert second is not None and (second["id"], second["attempts"]) == (job_id, 2)
    assert store.heartbeat_job(job_id, "slow", 1000) is False
    assert store.complete_job(job_id, "slow", {"late": True}) is False
    assert store.fail_job(job_id, "slow", "late", 0) is None
    assert store.complete_job(job_id, "fast", {"ok": True}) is True
    job = mainsail.get_job(job_id)
    assert (job.status, job.claimed_by, job.result) == ("done", "admin/fast", {"ok": True})
    assert store.complete_job(job_id, "fast", {"again": True}) is False  # done is final


def test_another_user_cannot_finish_a_workers_job(remote: ServerProcess, unique: str) -> None:
    q = f"o-{unique}"
    job_id = mainsail.enqueue_job("echo", {}, queue=q, max_attempts=3)
    assert _rest().claim_job([q], "w1", 60_000, ["echo"]) is not None
    made = _api().json(
        "POST", "/users", json={"name": f"mallory-{unique}", "role": "developer", "project": "*"}
    )
    mallory = RestStore(RestClient(remote.url, token=made["token"]["token"]))
    # the same worker id from another user's token is another holder: refused
    assert mallory.heartbeat_job(job_id, "w1", 1000) is False
    assert mallory.complete_job(job_id, "w1", {"forged": True}) is False
    assert mallory.fail_job(job_id, "w1", "forged", 0) is None
    mallory.close()
    assert _rest().complete_job(job_id, "w1", {"ok": True}) is True
    assert mainsail.get_job(job_id).result == {"ok": True}


def _claim(**fields: Any) -> Callable[[], Any]:
    body = {"queues": ["b"], "kinds": ["echo"], "worker_id": "w", "lease_ms": 1000, **fields}
    return lambda: _api().json("POST", "/jobs/claim", json=body)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (_claim(kinds=["automation.retrain"]), InvalidValueError, "write to the metadata"),
        (_claim(kinds=[]), InvalidValueError, "kinds"),
        (_claim(wait_s=31), InvalidValueError, "wait_s"),
        (_claim(lease_ms=0), InvalidValueError, "lease_ms"),
        (_claim(queues=["a b"]), InvalidValueError, "queues"),
        (
            lambda: _api().json("POST", "/jobs/1/fail", json={"worker_id": "w", "error": ""}),
            InvalidValueError,
            "error",
        ),
        (lambda: _rest().claim_job(["b"], "w", 1000), InvalidValueError, "names the job kinds"),
        (
            lambda: jobs.Worker(mainsail.get_context(), ["b"], kinds=["automation.retrain"]).run(),
            ConfigurationError,
            "write to the metadata database",
        ),
        (
            lambda: jobs.Worker(mainsail.get_context(), ["b"], wait_s=31),
            InvalidValueError,
            "wait_s must be seconds",
        ),
        (
            lambda: jobs.Worker(mainsail.get_context(), ["b"], kinds=[]),
            InvalidValueError,
            "got an empty list",
        ),
        (
            lambda: jobs.reap_stale_jobs(mainsail.get_context()),
            ConfigurationError,
            "needs the metadata database",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    remote: ServerProcess, call: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_a_viewer_cannot_serve_the_queue(
    remote: ServerProcess, monkeypatch: pytest.MonkeyPatch, unique: str
) -> None:
    q = f"v-{unique}"
    job_id = mainsail.enqueue_job("echo", {}, queue=q)
    made = _api().json("POST", "/users", json={"name": f"viewer-{unique}", "role": "viewer"})
    monkeypatch.setenv("MAINSAIL_TOKEN", made["token"]["token"])
    mainsail.reset()
    w = jobs.Worker(mainsail.get_context(), [q], handlers={"echo": lambda p, j: p}, wait_s=0.5)
    with pytest.raises(PermissionDeniedError, match="needs the developer role"):
        w.run()  # refused by the server: not retried as an outage
    assert mainsail.get_job(job_id).status == "queued"


def test_a_server_stopping_ends_waiting_claims_at_once(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "srv", "--bootstrap-admin", "--no-controllers")
    with srv:
        match = re.search(r"^ms_\S+$", srv.output(), re.M)
        assert match is not None, srv.output()
        store = RestStore(RestClient(srv.url, token=match.group(0)))
        answers: list[Any] = []
        waiting = threading.Thread(
            target=lambda: answers.append(store.claim_job(["q"], "w", 1000, ["echo"], wait_s=20))
        )
        waiting.start()
        time.sleep(1.0)  # inside the long poll
        started = time.monotonic()
    stopped_s = time.monotonic() - started  # the server process exited
    waiting.join(timeout=5)
    store.close()
    assert answers == [None]  # an empty answer, not a broken connection
    assert stopped_s < 3.0  # not the 20 s wait (nor the 10 s kill of ServerProcess)
