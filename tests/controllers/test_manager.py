"""Leader election and the controller loop."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mainsail.controllers import ControllerManager, LeaderLock
from mainsail.store import Database


class Counter:
    def __init__(self, name: str = "counter", interval_s: float = 0.05, fail: bool = False):
        self.name = name
        self.interval_s = interval_s
        self.fail = fail
        self.ticks: list[int] = []

    def tick(self, now_ms: int) -> None:
        self.ticks.append(now_ms)
        if self.fail:
            raise RuntimeError("boom")


def test_only_one_sqlite_leader(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    a, b = LeaderLock(db), LeaderLock(db)
    assert a.try_acquire()
    assert not b.try_acquire()
    a.release()
    assert b.try_acquire()
    b.release()


def test_leader_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url)
    code = (
        "import sys, time; from mainsail.store import Database;"
        "from mainsail.controllers import LeaderLock;"
        f"l = LeaderLock(Database({url!r})); assert l.try_acquire(); print('held', flush=True);"
        "time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        mine = LeaderLock(Database(url))
        assert not mine.try_acquire()
        proc.kill()
        proc.wait(10)
        assert mine.try_acquire()
        mine.release()
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.postgres
def test_only_one_postgres_leader(pg_url: str) -> None:
    db = Database(pg_url)
    a, b = LeaderLock(db), LeaderLock(db)
    assert a.try_acquire()
    assert not b.try_acquire()
    assert a.still_held()
    a.release()
    assert b.try_acquire()
    b.release()
    db.dispose()


def test_manager_ticks_and_survives_a_failing_controller(ctx) -> None:  # type: ignore[no-untyped-def]
    good, bad = Counter("good"), Counter("bad", fail=True)
    manager = ControllerManager(ctx, controllers=[good, bad], poll_s=0.02)
    with manager:
        deadline = time.monotonic() + 5
        while len(good.ticks) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(good.ticks) >= 3
    assert len(bad.ticks) >= 3  # retried every interval despite failing
    assert "boom" in manager.errors["bad"]
    assert not manager.is_leader  # released on stop


def test_second_manager_does_not_tick_while_first_leads(ctx) -> None:  # type: ignore[no-untyped-def]
    first, second = Counter("a"), Counter("b")
    m1 = ControllerManager(ctx, controllers=[first])
    m2 = ControllerManager(ctx, controllers=[second])
    assert m1.run_once()
    assert not m2.run_once()
    assert first.ticks and not second.ticks
    m1.stop()
    assert m2.run_once()
    assert second.ticks
    m2.stop()


def test_unknown_controller_name_is_a_clear_error(ctx) -> None:  # type: ignore[no-untyped-def]
    from mainsail.core import MainsailError

    with pytest.raises(MainsailError, match="Valid controllers are"):
        ControllerManager(ctx, names=["nope"]).controllers()
