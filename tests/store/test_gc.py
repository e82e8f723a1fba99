"""Garbage collection keeps every blob the metadata references, and only those."""

from __future__ import annotations

from typing import Any

import pandas as pd

import mainsail
from mainsail.store._gc import collect_garbage


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
