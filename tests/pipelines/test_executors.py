"""Executors are plug-ins: the contract every registered executor meets, and a third-party
executor (tests/thirdparty/acme_gate.py) running pipelines without touching Mainsail's code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import mainsail
from mainsail.core._errors import UnknownExecutorError
from mainsail.pipelines import (
    EXECUTORS,
    InProcessExecutor,
    check_executor,
    register_executor,
    unregister_executor,
)
from mainsail.pipelines._executors import make_executor

THIRDPARTY = Path(__file__).parents[1] / "thirdparty"
SRC = Path(mainsail.__file__).parents[1]

FLOW = """
import threading
import mainsail

@mainsail.step
def numbers(n: int) -> list:
    return list(range(n))

@mainsail.step
def where(xs: list) -> str:
    return threading.current_thread().name

@mainsail.step
def total(xs: list) -> int:
    return sum(xs)

@mainsail.pipeline
def flow(n: int = 5):
    xs = numbers(n)
    return {"total": total(xs), "where": where(xs)}
"""


# Ray's cluster costs tens of seconds to start here: tests/pipelines/test_ray.py runs a
# fan-out pipeline through it, so its run is not repeated in the contract.
RUN_ELSEWHERE = {"ray": "tests/pipelines/test_ray.py"}


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_every_registered_executor_checks_its_options(name: str, ctx: Any) -> None:
    if name == "ray":
        pytest.importorskip("ray")
    factory = EXECUTORS.get(name)
    assert check_executor(factory, name) is factory
    assert isinstance(getattr(factory, "name", name), str)
    with pytest.raises(UnknownExecutorError, match="no option|takes no options"):
        make_executor(name, ctx, {"no_such_option": 1})  # refused before it starts anything


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_every_registered_executor_runs_a_pipeline(
    name: str, ctx: Any, project: Callable[..., ModuleType]
) -> None:
    if name in RUN_ELSEWHERE:
        pytest.skip(f"the {name} executor runs a pipeline in {RUN_ELSEWHERE[name]}")
    pr = project("contract_flow", FLOW).flow.run(params={"n": 5}, executor=name, progress=False)
    assert (pr.status, pr.executor) == ("succeeded", name), pr.error
    assert pr.outputs["total"] == 10 and isinstance(pr.outputs["where"], str)
    assert [s.status for s in pr.steps] == ["succeeded"] * 3


class NoWait:
    name = "nowait"

    def submit(self, task: Any) -> Any: ...
    def close(self) -> None: ...


class Nameless(InProcessExecutor):
    name = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        (42, "has no submit, wait, close"),
        (NoWait, "has no wait"),
        (Nameless, "has no 'name' string"),
    ],
)
def test_check_executor_says_what_is_wrong(obj: Any, match: str) -> None:
    with pytest.raises(UnknownExecutorError, match=match):
        check_executor(obj, "bad")
    with pytest.raises(UnknownExecutorError, match=match):
        register_executor("bad", obj)
    assert "bad" not in EXECUTORS


def test_a_factory_that_builds_a_broken_executor_is_refused_when_built(ctx: Any) -> None:
    register_executor("broken", lambda ctx, **options: object())
    try:
        with pytest.raises(UnknownExecutorError, match="The executor 'broken' has no submit"):
            make_executor("broken", ctx, None)
    finally:
        unregister_executor("broken")


def test_a_third_party_executor_registered_by_name_runs_a_pipeline(
    ctx: Any, project: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_executor("acme-threads", "acme_gate:ThreadExecutor")
    try:
        flow = project("acme_flow", FLOW).flow
        pr = flow.run(executor="acme-threads", executor_options={"workers": 2}, progress=False)
        assert (pr.status, pr.executor) == ("succeeded", "acme-threads"), pr.error
        assert pr.outputs["total"] == 10 and pr.outputs["where"].startswith("acme-step")
        with pytest.raises(TypeError, match="unexpected keyword argument 'gpus'"):
            flow.run(executor="acme-threads", executor_options={"gpus": 1}, progress=False)
    finally:
        unregister_executor("acme-threads")
    with pytest.raises(UnknownExecutorError, match="Unknown executor 'acme-threads'"):
        make_executor("acme-threads", ctx, None)


@pytest.mark.timeout(180)
def test_a_third_party_executor_installed_as_an_entry_point_runs_mainsail_pipeline_run(
    ctx: Any, home: Path, project: Callable[..., ModuleType]
) -> None:
    """``[mainsail.executors] acme-threads = acme_gate:ThreadExecutor`` in an installed
    package: ``mainsail pipeline run --executor acme-threads`` in a fresh process uses it."""
    folder = Path(project("cli_flow", FLOW).__file__).parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, [SRC, THIRDPARTY, THIRDPARTY / "site", folder])),
        "MAINSAIL_HOME": str(home),
    }
    cmd = [sys.executable, "-m", "mainsail", "pipeline", "run", "cli_flow:flow",
           "--param", "n=4", "--executor", "acme-threads"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    (pr,) = mainsail.list_pipeline_runs("flow")
    assert (pr.status, pr.executor, pr.outputs["total"]) == ("succeeded", "acme-threads", 6)
    assert pr.outputs["where"].startswith("acme-step")
    assert "acme-threads" not in EXECUTORS  # this process never loaded the plug-in
