"""The built-in ``pipeline`` job kind, and ``mainsail worker`` in process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import mainsail

SRC = """
import mainsail

@mainsail.step
def square(x: int) -> int:
    return x * x

@mainsail.step
def check(y: int) -> int:
    if y > 100:
        raise ValueError(f"{y} is too large")
    return y

@mainsail.pipeline
def squares(x: int = 3):
    return {"y": check(square(x))}
"""


@pytest.fixture
def pipeline_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import sys

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "jobpipes.py").write_text(textwrap.dedent(SRC))
    monkeypatch.syspath_prepend(str(folder))
    yield "jobpipes:squares"  # type: ignore[misc]
    sys.modules.pop("jobpipes", None)


def test_pipeline_job_runs_the_pipeline(ctx, pipeline_module: str, cli) -> None:  # type: ignore[no-untyped-def]
    import mainsail

    ok = mainsail.enqueue_job(
        "pipeline", {"pipeline": pipeline_module, "params": {"x": 4}, "trigger": {"kind": "drift"}}
    )
    bad = mainsail.enqueue_job(
        "pipeline", {"pipeline": pipeline_module, "params": {"x": 20}}, max_attempts=1
    )
    code, out, _ = cli("worker", "--once")
    assert code == 0 and "processed 2 job(s)" in out
    job = mainsail.get_job(ok)
    assert job.status == "done"
    pr = mainsail.get_pipeline_run(job.result["pipeline_run_id"])
    assert pr.outputs == {"y": 16} and pr.run_id == job.result["run_id"]
    assert pr.trigger == {"kind": "drift", "job_id": ok, "attempt": 1}
    failed = mainsail.get_job(bad)
    assert failed.status == "failed" and "400 is too large" in (failed.error or "")
    code, out, _ = cli("jobs", "list", "--json", "--status", "failed")
    assert code == 0 and [j["id"] for j in json.loads(out)] == [bad]
    code, out, _ = cli("jobs", "list")
    assert code == 0 and "Jobs" in out
    code, out, _ = cli("jobs", "show", str(ok))
    assert code == 0 and json.loads(out)["result"]["pipeline_run_id"] == pr.id
    code, _, err = cli("jobs", "show", "999")
    assert code == 1 and "No job with id 999" in err


def test_worker_cli_checks_handlers(ctx, cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("worker", "--once", "--handler", "nonsense")
    assert code == 1 and "Expected --handler as kind=module:function" in err
    job_id = mainsail.enqueue_job("echo", {"v": 1})
    code, out, _ = cli("worker", "--max-jobs", "1", "--handler", "echo=json:dumps")
    assert code == 0
    job = mainsail.get_job(job_id)  # json.dumps(payload, job) is a TypeError: recorded, retried
    assert job.status == "queued" and job.attempts == 1 and "TypeError" in (job.error or "")
