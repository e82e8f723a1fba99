"""Step caching: keyed by code (own source + local modules), params and input digests."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

HELPERS = """
def scale(x):
    return x * 2
"""

STEPS = """
import pandas as pd
import mainsail
import helpers

@mainsail.step
def load(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n))})

@mainsail.step
def transform(df: pd.DataFrame, factor: float = 1.0) -> pd.DataFrame:
    return df.assign(y=(helpers.scale(df.x) * factor).astype(float))

@mainsail.step
def summarise(df: pd.DataFrame) -> dict:
    return {"sum": float(df.y.sum()), "rows": len(df)}

def unrelated():
    return 1

@mainsail.pipeline
def flow(n: int = 5, factor: float = 1.0):
    return {"summary": summarise(transform(load(n), factor=factor))}
"""


def statuses(pr) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.step: s.status for s in pr.steps}


@pytest.fixture
def flow(ctx, project: Callable[..., ModuleType]) -> ModuleType:  # type: ignore[no-untyped-def]
    return project("flowmod", STEPS, helpers=HELPERS)


def test_first_run_runs_everything_second_run_is_cached(flow: ModuleType) -> None:
    first = flow.flow.run(progress=False)
    assert first.status == "succeeded", first.error
    assert statuses(first) == {
        "load": "succeeded",
        "transform": "succeeded",
        "summarise": "succeeded",
    }
    assert all(s.reason == ["no cache entry"] for s in first.steps)
    assert first.outputs == {"summary": {"sum": 20.0, "rows": 5}}

    second = flow.flow.run(progress=False)
    assert set(statuses(second).values()) == {"cached"}
    assert all(s.cached_from == first.id for s in second.steps)
    assert second.outputs == first.outputs
    assert [s.cache_key for s in second.steps] == [s.cache_key for s in first.steps]


def test_param_change_reruns_only_the_affected_steps(flow: ModuleType) -> None:
    flow.flow.run(progress=False)
    pr = flow.flow.run(params={"factor": 3.0}, progress=False)
    assert statuses(pr) == {"load": "cached", "transform": "succeeded", "summarise": "succeeded"}
    assert pr.step("transform").reason == ["param factor changed from 1.0 to 3.0"]
    # summarise's code and params did not change; its input did
    (why,) = pr.step("summarise").reason
    assert why.startswith("input df digest changed from ")
    assert why.endswith(" (output transform.output)")
    assert pr.outputs["summary"]["sum"] == 60.0


def test_same_output_from_changed_params_keeps_downstream_cached(flow: ModuleType) -> None:
    flow.flow.run(params={"n": 4}, progress=False)
    # factor 1 vs 1.0: different param value, identical output digest
    pr = flow.flow.run(params={"n": 4, "factor": 1}, progress=False)
    assert statuses(pr) == {"load": "cached", "transform": "succeeded", "summarise": "cached"}


def test_editing_the_step_source_reruns_it(flow: ModuleType, project) -> None:  # type: ignore[no-untyped-def]
    flow.flow.run(progress=False)
    edited = project("flowmod", STEPS.replace("df.assign(y=", "df.assign(z=0, y="))
    pr = edited.flow.run(progress=False)
    assert statuses(pr) == {"load": "cached", "transform": "succeeded", "summarise": "succeeded"}
    reason = pr.step("transform").reason
    assert reason == [f"code changed: flowmod.transform ({edited.__file__})"]


def test_editing_an_imported_local_module_reruns_its_users(flow: ModuleType, project) -> None:  # type: ignore[no-untyped-def]
    flow.flow.run(progress=False)
    edited = project("flowmod", helpers=HELPERS.replace("x * 2", "x * 4"))
    pr = edited.flow.run(progress=False)
    assert statuses(pr) == {"load": "cached", "transform": "succeeded", "summarise": "succeeded"}
    (reason,) = pr.step("transform").reason
    assert reason.startswith("code changed: helpers (") and reason.endswith("helpers.py)")
    assert pr.outputs["summary"]["sum"] == 40.0


def test_editing_unrelated_code_in_the_same_module_keeps_the_cache(
    flow: ModuleType, project
) -> None:  # type: ignore[no-untyped-def]
    flow.flow.run(progress=False)
    edited = project("flowmod", STEPS.replace("return 1", "return 2  # changed"))
    pr = edited.flow.run(progress=False)
    assert set(statuses(pr).values()) == {"cached"}


def test_site_packages_are_not_part_of_the_code_key(flow: ModuleType) -> None:
    from mainsail.pipelines._code import code_components

    code, files = code_components(flow.transform.fn)
    assert set(code) == {"flowmod.transform", "helpers"}  # not pandas, not mainsail
    assert files["helpers"].endswith("helpers.py")


def test_no_cache_reruns_every_step_and_says_so(flow: ModuleType) -> None:
    flow.flow.run(progress=False)
    pr = flow.flow.run(cache=False, progress=False)
    assert set(statuses(pr).values()) == {"succeeded"}
    assert all(s.reason == ["cache disabled (--no-cache)"] for s in pr.steps)
    again = flow.flow.run(progress=False)  # the rerun refreshed the cache entries
    assert set(statuses(again).values()) == {"cached"}
    assert {s.cached_from for s in again.steps} == {pr.id}


def test_step_with_cache_disabled_always_runs(ctx, project) -> None:  # type: ignore[no-untyped-def]
    mod = project(
        "nocache",
        """
        import mainsail

        @mainsail.step(cache=False)
        def now() -> int:
            return 1

        @mainsail.step
        def plus(x: int) -> int:
            return x + 1

        @mainsail.pipeline
        def p():
            return plus(now())
        """,
    )
    mod.p.run(progress=False)
    pr = mod.p.run(progress=False)
    assert statuses(pr) == {"now": "succeeded", "plus": "cached"}
    assert pr.step("now").reason == ["cache disabled for this step (@step(cache=False))"]
    assert pr.outputs == {"output": 2}


def test_uncommitted_entry_is_not_reused(ctx, flow: ModuleType) -> None:  # type: ignore[no-untyped-def]
    from mainsail.store import _tables as t

    first = flow.flow.run(progress=False)
    key = first.step("transform").cache_key
    with ctx.store.db.write() as conn:  # as if the run died after begin, before commit
        conn.execute(
            t.step_cache.update().where(t.step_cache.c.cache_key == key).values(committed=False)
        )
    pr = flow.flow.run(progress=False)
    assert statuses(pr) == {"load": "cached", "transform": "succeeded", "summarise": "cached"}
    assert pr.step("transform").reason[0].startswith("cache entry not committed")
    assert ctx.store.get_cache_entry(key)["committed"] is True


def test_a_step_failing_while_writing_outputs_leaves_nothing_reusable(ctx, project) -> None:  # type: ignore[no-untyped-def]
    src = """
        import mainsail

        class Opaque:
            pass

        @mainsail.step(outputs=["good", "bad"])
        def two() -> tuple:
            return [1, 2, 3], Opaque()

        @mainsail.pipeline
        def p():
            good, bad = two()
            return {"good": good}
        """
    mod = project("halfway", src)
    pr = mod.p.run(progress=False)
    assert pr.status == "failed"
    sr = pr.step("two")
    assert sr.status == "failed" and "Opaque" in (sr.error or "")
    assert set(sr.outputs) == {"good"}  # the first output was written...
    entry = ctx.store.get_cache_entry(sr.cache_key)
    assert entry is not None and entry["committed"] is False  # ...but never committed
    fixed = project("halfway", src.replace("Opaque()", "'plain text'"))
    again = fixed.p.run(progress=False)
    assert again.status == "succeeded"
    assert again.step("two").status == "succeeded"


def test_a_missing_output_artifact_forces_a_rerun(ctx, flow: ModuleType) -> None:  # type: ignore[no-untyped-def]
    first = flow.flow.run(progress=False)
    ctx.artifacts.delete(first.step("load").outputs["output"])
    pr = flow.flow.run(progress=False)
    assert pr.step("load").status == "succeeded"
    assert pr.step("load").reason == ["a cached output artifact is missing from the artifact store"]
    assert pr.status == "succeeded"


def test_why_rerun_explains_each_step(ctx, flow: ModuleType, project, cli) -> None:  # type: ignore[no-untyped-def]
    from mainsail.client._pipelines import why_rerun

    first = flow.flow.run(progress=False)
    edited = project("flowmod", helpers=HELPERS.replace("x * 2", "x * 5"))
    pr = edited.flow.run(params={"factor": 2.0}, progress=False)
    found = {e.step: e for e in why_rerun(pr.id)}
    assert found["load"].lines() == [f"cached: reused the outputs of pipeline run {first.id[:12]}"]
    lines = found["transform"].lines()
    assert lines[0].startswith("code changed: helpers (")
    assert lines[1] == "param factor changed from 1.0 to 2.0"
    assert found["transform"].compared_to == first.id[:12]
    assert found["summarise"].lines()[0].startswith("input df digest changed")

    code, out, _ = cli("pipeline", "why-rerun", pr.id[:10], "transform")
    assert code == 0
    assert "param factor changed from 1.0 to 2.0" in out and "helpers" in out
    assert "summarise" not in out
    code, _, err = cli("pipeline", "why-rerun", pr.id, "nope")
    assert code == 1 and "no step 'nope'" in err and "transform" in err


def test_first_run_why_rerun_says_no_cache_entry(ctx, flow: ModuleType) -> None:  # type: ignore[no-untyped-def]
    from mainsail.client._pipelines import why_rerun

    pr = flow.flow.run(progress=False)
    assert [e.lines() for e in why_rerun(pr.id)] == [["no cache entry"]] * 3


def test_cache_rows_record_components(ctx, flow: ModuleType) -> None:  # type: ignore[no-untyped-def]
    from mainsail.store import _tables as t

    pr = flow.flow.run(params={"n": 3}, progress=False)
    with ctx.store.db.read() as conn:
        rows = conn.execute(sa.select(t.step_cache)).all()
    assert len(rows) == 3 and all(r.committed for r in rows)
    comps = {r.step: r.components for r in rows}
    assert comps["load"]["params"] == {"n": 3}
    assert comps["transform"]["inputs"] == {"df": pr.step("load").outputs["output"]}


def test_a_module_constant_the_step_reads_is_part_of_its_code(ctx, project) -> None:  # type: ignore[no-untyped-def]
    src = """
        import mainsail

        THRESHOLD = 0.5
        UNUSED = 1

        @mainsail.step
        def cut(x: float) -> bool:
            return x > THRESHOLD

        @mainsail.pipeline
        def p(x: float = 0.7):
            return cut(x)
        """
    assert project("consts", src).p.run(progress=False).outputs == {"output": True}
    pr = project("consts", src.replace("UNUSED = 1", "UNUSED = 2")).p.run(progress=False)
    assert pr.step("cut").status == "cached"
    pr = project("consts", src.replace("THRESHOLD = 0.5", "THRESHOLD = 0.9")).p.run(progress=False)
    assert pr.step("cut").status == "succeeded"
    assert pr.step("cut").reason[0].startswith("code changed: consts.THRESHOLD (")
    assert pr.outputs == {"output": False}


def test_a_run_interrupted_mid_step_leaves_an_uncommitted_entry(ctx, project) -> None:  # type: ignore[no-untyped-def]
    import mainsail

    src = """
        import mainsail

        @mainsail.step
        def first() -> int:
            return 1

        @mainsail.step
        def second(x: int) -> int:
            if INTERRUPT:
                raise KeyboardInterrupt
            return x + 1

        INTERRUPT = True

        @mainsail.pipeline
        def p():
            return second(first())
        """
    with pytest.raises(KeyboardInterrupt):
        project("interrupted", src).p.run(progress=False)
    (pr,) = mainsail.list_pipeline_runs("p")
    assert pr.status == "failed" and "KeyboardInterrupt" in (pr.error or "")
    assert {s.step: s.status for s in pr.steps} == {"first": "succeeded", "second": "failed"}
    assert mainsail.get_run(pr.run_id).status == "killed"
    assert ctx.store.get_cache_entry(pr.step("second").cache_key)["committed"] is False
    again = project("interrupted", src.replace("INTERRUPT = True", "INTERRUPT = False")).p.run(
        progress=False
    )
    assert again.step("first").status == "cached"
    assert again.outputs == {"output": 2}


def test_a_step_claimed_by_a_running_run_waits_then_takes_over(  # type: ignore[no-untyped-def]
    ctx, flow: ModuleType, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import threading
    import time

    from mainsail.core._ids import new_id
    from mainsail.pipelines import _runner

    monkeypatch.setattr(_runner, "_WAIT_LOG_S", 0.1)  # the waiter says who holds it: 30 s
    caplog.set_level(logging.WARNING, logger="mainsail.pipelines")
    first = flow.flow.run(progress=False)
    key = first.step("load").cache_key
    other = new_id()  # another client's run claims load's key and is still running
    ctx.store.create_pipeline_run(other, "flow", None, {}, "inprocess")
    assert ctx.store.begin_cache_entry(key, "load", {}, other, replace_committed=True)
    done: list[Any] = []
    th = threading.Thread(target=lambda: done.append(flow.flow.run(progress=False)))
    th.start()
    deadline = time.monotonic() + 10
    while len(caplog.records) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert th.is_alive() and not done  # waiting on the claim, not running load
    said = [r.getMessage() for r in caplog.records]
    assert len(said) >= 2, said  # at once, then again while it waits
    assert f"waits for pipeline run {other}" in said[0] and "older than 6 h" in said[0]
    ctx.store.finish_pipeline_run(other, "failed", {}, "killed")  # it died without committing
    th.join(30)
    (pr,) = done
    assert statuses(pr) == {"load": "succeeded", "transform": "cached", "summarise": "cached"}
    assert pr.step("load").reason[0].startswith("cache entry not committed")
    assert ctx.store.get_cache_entry(key)["pipeline_run_id"] == pr.id


def test_a_failed_steps_claim_is_released_while_its_run_carries_on(ctx, project) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    import mainsail

    src = """
        import threading

        import mainsail

        GATE = threading.Event()

        @mainsail.step
        def bad(n: int) -> int:
            raise ValueError("boom")

        @mainsail.step
        def first() -> int:
            return 1

        @mainsail.step
        def slow(x: int) -> int:
            GATE.wait(60)
            return x

        @mainsail.pipeline
        def both(n: int = 1):
            return {"bad": bad(n), "slow": slow(first())}

        @mainsail.pipeline
        def only_bad(n: int = 1):
            return bad(n)
        """
    mod = project("claims", src)
    done: dict[str, Any] = {}
    a = threading.Thread(target=lambda: done.setdefault("a", mod.both.run(progress=False)))
    a.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until a's bad step failed and slow is running
            runs = mainsail.list_pipeline_runs("both")
            if runs and statuses(runs[0]).get("slow") == "running":
                break
            time.sleep(0.02)
        (held,) = mainsail.list_pipeline_runs("both")
        assert held.status == "running" and held.step("bad").status == "failed"
        entry = ctx.store.get_cache_entry(held.step("bad").cache_key)
        assert entry is not None and (entry["committed"], entry["pipeline_run_id"]) == (False, None)
        b = threading.Thread(target=lambda: done.setdefault("b", mod.only_bad.run(progress=False)))
        started = time.monotonic()
        b.start()
        b.join(10)
        assert "b" in done, "the second run waited on a failed step's claim"
        assert time.monotonic() - started < 5 and a.is_alive()
        assert done["b"].status == "failed" and done["b"].step("bad").status == "failed"
        assert done["b"].step("bad").reason[0].startswith("cache entry not committed")
    finally:
        mod.GATE.set()
        a.join(30)
    assert done["a"].status == "failed" and statuses(done["a"])["slow"] == "succeeded"
