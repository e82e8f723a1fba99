"""Real worker processes: a SIGKILLed worker's job is retried by another; disjoint claims."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import mainsail
import mainsail.jobs as jobs

HANDLERS = """
import os
import time
from pathlib import Path

def slow(payload, job):
    Path(payload["dir"], f"attempt-{job.attempts}-{os.getpid()}").write_text("")
    if job.attempts == 1:
        time.sleep(120)  # killed long before this ends
    return {"pid": os.getpid(), "attempt": job.attempts}
"""


def _wait_for(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mainsail", "worker", "--handler", "slow=jobhandlers:slow"]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [*cmd, "--lease", "1.5", "--poll", "0.1", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.timeout(120)
def test_a_sigkilled_worker_leaves_the_job_to_another(jctx, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "handlers"
    folder.mkdir()
    (folder / "jobhandlers.py").write_text(textwrap.dedent(HANDLERS))
    marks = tmp_path / "marks"
    marks.mkdir()
    src = str(Path(jobs.__file__).parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, str(folder)]),
        "MAINSAIL_HOME": str(tmp_path / "home"),
        "MAINSAIL_DATABASE_URL": db_url,
    }
    job_id = mainsail.enqueue_job("slow", {"dir": str(marks)}, max_attempts=3)

    first = _worker(env, tmp_path / "first.log")
    try:
        _wait_for(lambda: any(marks.iterdir()), 60, "the first worker to start the job")
        assert mainsail.get_job(job_id).status == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    job = mainsail.get_job(job_id)
    assert job.status == "running" and job.attempts == 1  # nobody finished it...

    second = _worker(env, tmp_path / "second.log", "--max-jobs", "1")  # ...so the next one retries
    try:
        second.wait(timeout=60)
    finally:
        second.kill()
    out = (tmp_path / "second.log").read_bytes()
    assert second.returncode == 0, out.decode()
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert job.result == {"pid": second.pid, "attempt": 2}
    assert sorted(p.name for p in marks.iterdir()) == [
        f"attempt-1-{first.pid}",
        f"attempt-2-{second.pid}",
    ]
    assert b"stopped heartbeating on attempt 1; now queued" in out


@pytest.mark.timeout(120)
def test_a_killed_job_without_attempts_left_is_failed_not_stuck(jctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = jctx.store
    job_id = mainsail.enqueue_job("slow", {}, max_attempts=1)
    store.claim_job(["default"], "gone", lease_ms=200)  # then the worker vanished
    worker = jobs.Worker(mainsail.get_context(), lease_s=0.4, poll_s=0.05)
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        _wait_for(lambda: mainsail.get_job(job_id).status == "failed", 20, "the reaper")
    finally:
        worker.stop()
        t.join(10)
    assert "No attempts left" in (mainsail.get_job(job_id).error or "")


def _concurrent(url: str, home: Path, n_workers: int, n_jobs: int) -> dict[int, list[str]]:
    from mainsail.client._context import build_context
    from mainsail.core import Settings

    claims: dict[int, list[str]] = {}
    lock = threading.Lock()

    def record(payload: dict[str, Any], job: jobs.Job) -> int:
        with lock:
            claims.setdefault(job.id, []).append(job.claimed_by or "")
        time.sleep(0.03)
        return job.id

    ctxs = [build_context(Settings(home=home, database_url=url)) for _ in range(n_workers + 1)]
    ids = [jobs.enqueue(ctxs[-1], "rec", {"i": i}) for i in range(n_jobs)]
    workers = [
        jobs.Worker(ctxs[i], worker_id=f"w{i}", handlers={"rec": record}, poll_s=0.05)
        for i in range(n_workers)
    ]
    threads = [threading.Thread(target=w.run, kwargs={"until_idle": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in ctxs:
        c.store.db.dispose()
    assert sorted(claims) == ids
    return claims


def test_concurrent_workers_on_postgres_claim_disjoint_jobs(pg_url: str, tmp_path: Path) -> None:
    claims = _concurrent(pg_url, tmp_path / "home", n_workers=3, n_jobs=30)
    assert all(len(who) == 1 for who in claims.values())  # no job was claimed twice
    assert len({who[0] for who in claims.values()}) >= 2  # and the work was shared


def test_two_workers_on_sqlite_take_turns_without_double_claims(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    claims = _concurrent(url, tmp_path / "home", n_workers=2, n_jobs=12)
    assert all(len(who) == 1 for who in claims.values())
