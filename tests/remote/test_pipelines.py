"""Pipelines against a server: steps run here, records, cache and artifacts live there.

Each test runs embedded and against a live ``mainsail server`` (``sdk_mode``); the
answers (statuses, cache reuse, why_rerun, lineage, the CLI) must be the same.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import mainsail
from mainsail.core._errors import PipelineRunNotFoundError

STEPS = """
import pathlib
import time

import mainsail

LOG = pathlib.Path({log!r})

@mainsail.step
def load(n: int) -> list:
    with LOG.open("a") as f:
        f.write("load\\n")
    time.sleep({pause})
    return list(range(n))

@mainsail.step
def transform(xs: list, factor: float = 1.0) -> list:
    return [x * factor for x in xs]

@mainsail.step
def summarise(xs: list) -> dict:
    return {{"sum": sum(xs), "rows": len(xs)}}

@mainsail.pipeline
def flow(n: int = 4, factor: float = 1.0):
    return {{"summary": summarise(transform(load(n), factor=factor))}}
"""


@pytest.fixture
def make_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique: str
) -> Iterator[Callable[..., ModuleType]]:
    """``make_flow(pause=0.0)``: a fresh module of steps (unique code, so a fresh cache)."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    name = f"remote_flow_{unique}"

    def make(pause: float = 0.0) -> ModuleType:
        log = tmp_path / "load-calls.txt"
        (folder / f"{name}.py").write_text(textwrap.dedent(STEPS.format(log=str(log), pause=pause)))
        importlib.invalidate_caches()
        return importlib.import_module(name)

    yield make
    sys.modules.pop(name, None)


def _statuses(pr: mainsail.PipelineRun) -> dict[str, str]:
    return {s.step: s.status for s in pr.steps}


def test_run_rerun_from_cache_and_explain(
    sdk_mode: str,
    make_flow: Callable[..., ModuleType],
    tmp_path: Path,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    from mainsail.client._pipelines import lineage, why_rerun

    mod = make_flow()
    first = mod.flow.run(progress=False)
    assert first.status == "succeeded", first.error
    assert set(_statuses(first).values()) == {"succeeded"}
    assert first.outputs == {"summary": {"sum": 6.0, "rows": 4}}

    second = mod.flow.run(progress=False)  # every step from the (server's) cache
    assert set(_statuses(second).values()) == {"cached"}
    assert {s.cached_from for s in second.steps} == {first.id}
    assert second.outputs == first.outputs
    assert (tmp_path / "load-calls.txt").read_text() == "load\n"

    third = mod.flow.run(params={"factor": 2.0}, progress=False)
    assert _statuses(third) == {
        "load": "cached",
        "transform": "succeeded",
        "summarise": "succeeded",
    }
    found = {e.step: e.lines() for e in why_rerun(third.id)}
    assert found["load"] == [f"cached: reused the outputs of pipeline run {first.id[:12]}"]
    assert found["transform"] == ["param factor changed from 1.0 to 2.0"]
    assert found["summarise"][0].startswith("input xs digest changed")

    got = mainsail.get_pipeline_run(third.id[:10])
    assert (got.id, _statuses(got), got.outputs) == (third.id, _statuses(third), third.outputs)
    listed = mainsail.list_pipeline_runs("flow", limit=3)
    assert [p.id for p in listed][:3] == [third.id, second.id, first.id]

    node = lineage(third.output_meta["summary"]["digest"])
    assert node is not None and (node.step, node.pipeline_run_id) == ("summarise", third.id)
    up = node.inputs["xs"]
    assert up.step == "transform" and up.inputs["factor"] == {"value": 2.0}
    assert up.inputs["xs"].step == "load" and up.inputs["xs"].pipeline_run_id == first.id

    code, out, _ = cli("pipeline", "why-rerun", third.id[:10], "transform")
    assert code == 0 and "param factor changed from 1.0 to 2.0" in out
    code, out, _ = cli("pipeline", "show", third.id[:10])
    assert code == 0 and third.id in out and "cached from" in out
    code, out, _ = cli("pipeline", "runs", "--pipeline", "flow", "--json")
    assert code == 0 and third.id in out and first.id in out
    # remote: nothing was written to a local store
    assert (tmp_path / "home").exists() is (sdk_mode == "embedded")


def test_unknown_pipeline_run_is_not_found(
    sdk_mode: str, cli: Callable[..., tuple[int, str, str]]
) -> None:
    from mainsail.client._pipelines import why_rerun

    for missing in ("nope", "abcdef0123"):
        with pytest.raises(PipelineRunNotFoundError, match=f"No pipeline run with id '{missing}'"):
            mainsail.get_pipeline_run(missing)
    with pytest.raises(PipelineRunNotFoundError, match="mainsail pipeline runs"):
        why_rerun("abcdef0123")
    code, _, err = cli("pipeline", "show", "nope")
    assert code == 1 and "No pipeline run with id 'nope'" in err


def test_two_clients_racing_run_a_step_once(
    sdk_mode: str, make_flow: Callable[..., ModuleType], tmp_path: Path
) -> None:
    """Two clients (own store connections) start the same pipeline at once."""
    from mainsail.client._context import build_context
    from mainsail.core._settings import get_settings
    from mainsail.pipelines._runner import execute

    mod = make_flow(pause=0.6)
    clients = [build_context(get_settings()) for _ in range(2)]
    assert all(c.is_remote is (sdk_mode == "remote") for c in clients)
    runs: list[mainsail.PipelineRun] = []
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def client(ctx):  # type: ignore[no-untyped-def]
        go.wait()
        try:
            runs.append(execute(ctx, mod.flow, progress=False))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    try:
        for th in threads:
            th.join(60)
        assert not errors, errors
        assert (tmp_path / "load-calls.txt").read_text() == "load\n"  # ran once, not twice
        waited, ran = sorted(runs, key=lambda pr: pr.step("load").status)  # cached < succeeded
        assert (ran.step("load").status, waited.step("load").status) == ("succeeded", "cached")
        assert waited.step("load").cached_from == ran.id
        assert waited.status == ran.status == "succeeded"
        assert waited.outputs == ran.outputs == {"summary": {"sum": 6.0, "rows": 4}}
    finally:
        for c in clients:
            c.close()


def test_ray_executor_against_a_server_is_a_clear_error(remote: object) -> None:
    """Embedded, Ray reaches the artifact store itself (tests/pipelines/test_ray.py)."""
    from mainsail.core._errors import UnknownExecutorError
    from mainsail.pipelines._ray import RayExecutor

    with pytest.raises(UnknownExecutorError, match="executor='inprocess'"):
        RayExecutor(mainsail.get_context())
