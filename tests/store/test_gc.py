"""Garbage collection keeps every blob the metadata references, and only those."""

from __future__ import annotations

from typing import Any

import pandas as pd

import mainsail
from mainsail.store._gc import collect_garbage

LITERAL = """
import pandas as pd
import mainsail

@mainsail.step
def count(df: pd.DataFrame) -> int:
    return len(df)

@mainsail.pipeline(name="literal")
def flow():
    return {"rows": count(pd.DataFrame({"a": [1, 2, 3]}))}  # a literal object, stored as a blob
"""


def test_gc_keeps_check_reports_and_removes_orphans(ctx: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    mv = mainsail.register_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "m", input_example=X)
    report = ctx.artifacts.put_bytes(b'{"verdict": "blessed"}')
    html = ctx.artifacts.put_bytes(b"<html>report</html>")
    ctx.store.create_check_result(
        "m",
        mv.version,
        verdict="blessed",
        policy={},
        checks=[],
        summary={},
        report_digest=report,
        html_digest=html,
    )
    orphan = ctx.artifacts.put_bytes(b"nobody points at me")
    dry = collect_garbage(ctx.store, ctx.artifacts, dry_run=True, min_age_s=0)
    assert dry.unreferenced == [orphan] and not dry.deleted
    done = collect_garbage(ctx.store, ctx.artifacts, dry_run=False, min_age_s=0)
    assert done.deleted and done.unreferenced == [orphan]
    assert not ctx.artifacts.exists(orphan)
    assert ctx.artifacts.exists(report) and ctx.artifacts.exists(html)
    assert mainsail.load_model(mv.address).predict(X).tolist() == [0, 0, 1, 1]


def test_gc_keeps_what_pipeline_runs_and_the_step_cache_reference(
    ctx, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 19: every reference counts: a step's literal inputs live only in step runs."""
    import importlib

    (tmp_path / "gcflow.py").write_text(LITERAL)
    monkeypatch.syspath_prepend(str(tmp_path))
    flow = importlib.import_module("gcflow")
    pr = flow.flow.run(progress=False)
    assert pr.status == "succeeded", pr.error
    inputs = [m["digest"] for s in pr.steps for m in s.inputs.values() if "digest" in m]
    assert inputs, "the literal DataFrame is a step input"
    report = collect_garbage(ctx.store, ctx.artifacts, dry_run=False, min_age_s=0)
    assert report.unreferenced == []
    assert all(ctx.artifacts.exists(d) for d in inputs)
    assert mainsail.get_pipeline_run(pr.id).outputs == {"rows": 3}
