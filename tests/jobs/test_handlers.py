"""Job handlers are plug-ins: the contract every registered handler meets, and a third-party
handler (tests/thirdparty/acme_gate.py) run by workers without touching Mainsail's code."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mainsail
import mainsail.jobs as jobs
from mainsail.core._errors import UnknownJobKindError
from mainsail.jobs._claims import LocalClaims, RemoteClaims
from mainsail.jobs._handlers import HANDLERS, known_kinds, needs_database, resolve_handler

THIRDPARTY = Path(__file__).parents[1] / "thirdparty"
SRC = Path(mainsail.__file__).parents[1]


@pytest.mark.parametrize("kind", HANDLERS.names())
def test_every_registered_handler_is_a_ctx_payload_job_function(kind: str, ctx: Any) -> None:
    handler = HANDLERS.get(kind)
    assert jobs.check_job_handler(handler, kind) is handler
    resolved = resolve_handler(kind)
    assert len(inspect.signature(resolved).parameters) == 3  # (ctx, payload, job)
    assert isinstance(needs_database(kind), bool)
    # through a server a worker claims it only if it need not write to the database itself
    remote = RemoteClaims(ctx).kinds(known_kinds(), None)
    assert (kind in remote) is not needs_database(kind)
    assert LocalClaims(ctx).kinds(known_kinds(), None) is None  # next to it: every kind


def test_the_built_in_kinds_and_what_they_need() -> None:
    assert {"pipeline", "automation.retrain"} <= set(HANDLERS.names())
    assert needs_database("automation.retrain") and not needs_database("pipeline")


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (42, "is int, not callable"),
        (lambda payload: None, "takes 1 positional argument"),
        (lambda a, b, c, d: None, "takes 4 positional argument"),
        ("no_colon", "'module:function'"),
    ],
)
def test_bad_handlers_are_refused_with_the_shape_they_need(handler: Any, match: str) -> None:
    with pytest.raises(UnknownJobKindError, match=match):
        jobs.register_handler("bad", handler)
    assert "bad" not in HANDLERS


def test_a_worker_s_own_handler_that_cannot_be_imported_fails_its_job(jctx: Any) -> None:
    job_id = mainsail.enqueue_job("x", {}, max_attempts=3)
    worker = jobs.Worker(mainsail.get_context(), handlers={"x": "no_such_module_xyz:fn"})
    assert worker.run(until_idle=True) == 1
    job = mainsail.get_job(job_id)
    assert (job.status, job.attempts) == ("failed", 1)  # a configuration error: not retried
    assert "The handler for job kind 'x' cannot be used" in (job.error or "")
    assert "no_such_module_xyz" in (job.error or "")


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    import acme_gate

    return acme_gate


def test_a_third_party_handler_registered_by_name_is_run_by_a_worker(jctx: Any, acme: Any) -> None:
    jobs.register_handler("acme.summarise", "acme_gate:summarise")
    try:
        ok = mainsail.enqueue_job("acme.summarise", {"numbers": [1, 2, 3.5]})
        bad = mainsail.enqueue_job("acme.summarise", {"numbers": "1,2"}, max_attempts=3)
        worker = jobs.Worker(mainsail.get_context(), retry_delay_s=0)
        assert "acme.summarise" in known_kinds() and worker.claim_kinds() is None
        assert worker.run(until_idle=True) == 2
    finally:
        jobs.unregister_handler("acme.summarise")
    done = mainsail.get_job(ok)
    assert done.status == "done" and done.result == {"total": 6.5, "attempt": 1, "pid": os.getpid()}
    failed = mainsail.get_job(bad)
    assert (failed.status, failed.attempts) == ("failed", 1)  # a bad payload is not retried
    assert "acme.summarise needs payload['numbers']" in (failed.error or "")


@pytest.mark.timeout(180)
def test_a_third_party_handler_installed_as_an_entry_point_is_run_by_mainsail_worker(
    ctx: Any, home: Path
) -> None:
    """``[mainsail.job_handlers] acme.summarise = acme_gate:summarise`` in an installed
    package: a fresh ``mainsail worker`` claims and runs the kind with no --handler."""
    job_id = mainsail.enqueue_job("acme.summarise", {"numbers": [4, 5]})
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, [SRC, THIRDPARTY, THIRDPARTY / "site"])),
        "MAINSAIL_HOME": str(home),
    }
    cmd = [sys.executable, "-m", "mainsail", "worker", "--once", "--kind", "acme.summarise"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "processed 1 job(s)" in done.stdout
    job = mainsail.get_job(job_id)
    assert job.status == "done", job.error
    assert job.result["total"] == 9 and job.result["pid"] != os.getpid()
    assert "acme.summarise" not in HANDLERS  # this process never loaded the plug-in
