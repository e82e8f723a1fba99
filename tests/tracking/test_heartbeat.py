"""Runs heartbeat; a run whose process stopped on another host is reaped (issue 17 item 20).

The pid check only works on the host that started a run. Elsewhere (a team server, a
colleague's laptop) a crashed run stayed "running" forever; now its silence gives it away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

import mainsail
from mainsail.store import _tables as t

CHILD = """
import sys, time
import mainsail
run = mainsail.start_run(experiment="long")
print(run.id, flush=True)
time.sleep(120)
"""


def _start(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "MAINSAIL_HOME": str(home), "MAINSAIL_RUN_HEARTBEAT_INTERVAL": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _beat(ctx, run_id: str) -> int:  # type: ignore[no-untyped-def]
    with ctx.store.db.read() as conn:
        return int(
            conn.execute(sa.select(t.runs.c.heartbeat_at).where(t.runs.c.id == run_id)).scalar()
        )


def test_a_run_whose_process_stopped_on_another_host_is_reaped(ctx, home) -> None:  # type: ignore[no-untyped-def]
    alive, alive_id = _start(home)
    crashed, crashed_id = _start(home)
    try:
        first = _beat(ctx, crashed_id)
        deadline = time.monotonic() + 20
        while _beat(ctx, crashed_id) == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _beat(ctx, crashed_id) > first, "the running process sends heartbeats"
        crashed.send_signal(signal.SIGKILL)  # no atexit, no end_run: it just stops
        crashed.wait(timeout=10)
        with ctx.store.db.write() as conn:  # as if both had been started on another machine
            conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.id.in_([alive_id, crashed_id]))
                .values(host="another-host")
            )
        assert ctx.store.reap_dead_runs() == 0  # the pid rule cannot see other hosts
        time.sleep(1.5)
        assert ctx.store.reap_dead_runs(stale_after_ms=1000) == 1
        assert mainsail.get_run(crashed_id).status == "failed"
        assert mainsail.get_run(alive_id).status == "running"  # still beating
        assert mainsail.get_run(alive_id).heartbeat_at is not None
    finally:
        for p in (alive, crashed):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            if p.stdout:
                p.stdout.close()


def test_the_leader_reaps_without_anyone_reading_runs(ctx, home) -> None:  # type: ignore[no-untyped-def]
    from mainsail.controllers import ControllerManager

    crashed, crashed_id = _start(home)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=10)
    if crashed.stdout:
        crashed.stdout.close()
    with ctx.store.db.read() as conn:
        status = sa.select(t.runs.c.status).where(t.runs.c.id == crashed_id)
        assert conn.execute(status).scalar() == "running"  # nobody has looked yet
    with ControllerManager(ctx, names=["runs"], poll_s=0.05):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with ctx.store.db.read() as conn:
                if conn.execute(status).scalar() == "failed":
                    break
            time.sleep(0.05)
    with ctx.store.db.read() as conn:
        assert conn.execute(status).scalar() == "failed"


def test_an_ended_run_stops_heartbeating(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run(experiment="short") as run:
        assert ctx.store.heartbeat_run(run.id) is True
    assert ctx.store.heartbeat_run(run.id) is False
