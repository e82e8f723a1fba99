"""The Ray executor runs a small pipeline on a local 2-CPU cluster (bounded)."""

from __future__ import annotations

import pytest

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SRC = """
import os
import pandas as pd
import mainsail

@mainsail.step
def make(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n)), "pid": os.getpid()})

@mainsail.step
def left(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(y=df.x * 2, pid=os.getpid())

@mainsail.step
def right(df: pd.DataFrame) -> int:
    return int(df.x.sum())

@mainsail.step
def join(a: pd.DataFrame, b: int) -> dict:
    return {"total": int(a.y.sum()) + b, "pids": sorted(set(a.pid.tolist()))}

@mainsail.step
def broken(df: pd.DataFrame) -> int:
    raise RuntimeError("step failed inside ray")

@mainsail.pipeline
def fan(n: int = 10, fail: bool = False):
    df = make(n)
    out = {"joined": join(left(df), right(df))}
    if fail:
        out["broken"] = broken(df)
    return out
"""


def test_ray_executor_runs_steps_as_tasks_and_records_them(ctx, project) -> None:  # type: ignore[no-untyped-def]
    import os

    import ray

    mod = project("raymod", SRC)
    pr = mod.fan.run(params={"n": 10, "fail": True}, executor="ray", progress=False)
    assert not ray.is_initialized()  # the local cluster it started is shut down
    assert pr.executor == "ray"
    statuses = {s.step: s.status for s in pr.steps}
    assert statuses == {
        "make": "succeeded",
        "left": "succeeded",
        "right": "succeeded",
        "join": "succeeded",
        "broken": "failed",
    }
    assert "step failed inside ray" in (pr.error or "")
    joined = ctx.artifacts.get_bytes(pr.step("join").outputs["output"])
    import orjson

    data = orjson.loads(joined)
    assert data["total"] == 90 + 45
    assert os.getpid() not in data["pids"]  # the steps ran in Ray worker processes
    # the cache is shared with the in-process executor: outputs written by Ray tasks
    again = mod.fan.run(params={"n": 10}, progress=False)
    assert {s.status for s in again.steps} == {"cached"}
    assert again.outputs["joined"]["total"] == 135


def test_ray_options_are_checked(ctx) -> None:  # type: ignore[no-untyped-def]
    from mainsail.core import MainsailError
    from mainsail.pipelines._executors import make_executor

    with pytest.raises(MainsailError, match="no option.*gpus. Valid options: address"):
        make_executor("ray", ctx, {"gpus": 1})
